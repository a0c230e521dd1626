"""docs/policy.md states each preset's mapping as the JSON files hold it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exchange.policy.classes import INHERIT
from exchange.policy.presets import load_preset

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def _documented(preset: str) -> dict[str, tuple[str | None, dict[str, str | None]]]:
    section = DOC.read_text().split(f"### `{preset}`")[1].split("\n### ")[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("category", "---"):
            continue
        name, transfer, overrides = cells
        subs = {}
        for override in filter(None, (part.strip() for part in overrides.split(";"))):
            sub, value = re.match(r"(.+?) → (\w+)", override).groups()
            subs[sub] = None if value == "none" else value
        rows[name] = (None if transfer == "none" else transfer, subs)
    return rows


@pytest.mark.parametrize("preset", ["bretherton", "holy_trinity"])
def test_the_documented_mapping_is_the_shipped_one(preset: str) -> None:
    shipped = {
        top.name: (
            top.transfer,
            {sub.name: sub.transfer for sub in top.subcategories if sub.transfer != INHERIT},
        )
        for top in load_preset(preset).categories
    }
    assert _documented(preset) == shipped
