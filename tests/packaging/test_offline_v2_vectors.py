"""The offline version 2 vectors in docs/vectors/offline/ are what the code writes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import jsonschema
from offline_v2_kit import SCHEMA, read_csv

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors" / "offline"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectors_are_what_the_code_writes() -> None:
    assert _script().check() == []


def test_vector_json_matches_the_schema_and_the_csv() -> None:
    schema = json.loads(SCHEMA.read_text())
    document = json.loads((VECTORS / "chronology.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)
    rows = read_csv(VECTORS / "chronology.csv")
    assert [row["reference"] for row in rows] == [i["ref"] for i in document["incidents"]]
    assert (VECTORS / "chronology.csv").read_bytes().count(b"\r\n") >= len(rows) + 1
    first = next(row for row in rows if row["reference"] == "INC-0001")
    assert first["narrative"].startswith("'=1+1")
    assert first["shared category"] == "bullying"
