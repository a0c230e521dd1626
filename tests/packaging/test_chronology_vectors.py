"""The chronology.json vectors are what the code writes; readers refuse what they cannot read."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from exchange.packaging.serialize import check_chronology_version

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors" / "chronology"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectors_are_what_the_code_writes() -> None:
    assert _script().check() == []


def test_version_1_has_no_version_2_member_and_version_2_has_each() -> None:
    first = json.loads((VECTORS / "chronology-v1.json").read_bytes())
    second = json.loads((VECTORS / "chronology-v2.json").read_bytes())
    assert (first["version"], second["version"]) == (1, 2)
    assert "follows" not in first
    assert not any({"transfer_class", "change"} & set(i) for i in first["incidents"])
    assert second["follows"] == first["transfer_id"]
    assert all("transfer_class" in incident for incident in second["incidents"])
    assert [i.get("change") for i in second["incidents"]].count("edited") == 1
    for document in (first, second):
        check_chronology_version(document)


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            {"format": "sgx-chronology", "version": 3},
            "version 3; this service reads versions 1 and 2",
        ),
        ({"format": "sgx-chronology", "version": "2"}, "version '2'"),
        ({"format": "sgx-chronology", "version": True}, "version True"),
        ({"format": "sgx-conversation", "version": 1}, "not an sgx-chronology document"),
        ({"version": 1}, "not an sgx-chronology document"),
    ],
)
def test_unknown_versions_and_formats_are_refused(document: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        check_chronology_version(document)
