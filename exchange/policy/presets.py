"""Category-tree presets shipped as JSON data files, loaded and checked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from exchange.errors import ValidationError
from exchange.policy.classes import INHERIT, validate_transfer_class

PRESET_FORMAT = "sgx-policy-preset/1"


@dataclass(frozen=True)
class PresetCategory:
    """One node of a preset: its name, its class, None (stays) or INHERIT, and its children."""

    name: str
    transfer: str | None
    description: str | None = None
    subcategories: tuple[PresetCategory, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Preset:
    """A named category tree with its transfer mapping."""

    name: str
    title: str
    categories: tuple[PresetCategory, ...]
    notes: tuple[str, ...] = ()

    def paths(self) -> list[str]:
        """Return every category path of the tree, parents before their children."""
        found = []
        for top in self.categories:
            found.append(top.name)
            found.extend(f"{top.name}/{child.name}" for child in top.subcategories)
        return found


def preset_names() -> list[str]:
    """Return the names of the shipped presets."""
    folder = resources.files("exchange.policy") / "presets"
    return sorted(
        entry.name.removesuffix(".json")
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    )


def load_preset(name: str) -> Preset:
    """Load and check a shipped preset by name."""
    if name not in preset_names():
        raise ValidationError(f"no preset {name!r}; known presets: {', '.join(preset_names())}")
    text = (resources.files("exchange.policy") / "presets" / f"{name}.json").read_text("utf-8")
    return parse_preset(json.loads(text), where=f"preset {name}")


def parse_preset(data: dict[str, Any], where: str = "preset") -> Preset:
    """Turn preset JSON into a Preset, raising on unknown classes or duplicate names."""
    if data.get("format") != PRESET_FORMAT:
        raise ValidationError(f"format must be {PRESET_FORMAT!r}", where=where)
    tops = [
        _parse_node(node, f"{where} categories[{i}]", top=True)
        for i, node in enumerate(data["categories"])
    ]
    _refuse_duplicates([top.name for top in tops], where)
    for top in tops:
        _refuse_duplicates([child.name for child in top.subcategories], f"{where} {top.name}")
    return Preset(
        name=data["name"],
        title=data.get("title", data["name"]),
        categories=tuple(tops),
        notes=tuple(data.get("notes", ())),
    )


def _parse_node(node: dict[str, Any], where: str, *, top: bool) -> PresetCategory:
    name = str(node.get("name", "")).strip()
    if not name:
        raise ValidationError("a category needs a name", where=where)
    if "transfer" in node:
        transfer = validate_transfer_class(node["transfer"])
    elif top:
        raise ValidationError("a top-level category must say what it transfers as", where=where)
    else:
        transfer = INHERIT  # A subcategory with no "transfer" key follows its parent.
    children = node.get("subcategories", [])
    if children and not top:
        raise ValidationError("the tree has two levels: a subcategory has no children", where=where)
    return PresetCategory(
        name=name,
        transfer=transfer,
        description=node.get("description"),
        subcategories=tuple(
            _parse_node(child, f"{where}/{i}", top=False) for i, child in enumerate(children)
        ),
    )


def _refuse_duplicates(names: list[str], where: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValidationError(f"category {name!r} appears twice", where=where)
        seen.add(name)
