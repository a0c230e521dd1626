"""Parse records.json: strict JSON first, then the format marker, then the schema."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import ValidationError

from exchange.records.import_errors import Problems, record_where
from exchange.records.import_paths import RECORDS_FILE
from exchange.records.import_schema import (
    FORMAT_NAME,
    FORMAT_VERSION,
    RECORD_SCHEMAS,
    RecordsSchema,
    schema_errors,
)

INVALID_IDS = "invalid_ids"


class _DuplicateKey(ValueError):
    """A JSON object names the same key twice."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes, problems: Problems) -> Any:
    """Return the parsed JSON, or None after recording why it is not acceptable JSON."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add(RECORDS_FILE, f"is not UTF-8 (byte {exc.start})")
        return None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        position = f"line {exc.lineno} column {exc.colno}"
        problems.add(RECORDS_FILE, f"is not valid JSON: {exc.msg} at {position}")
    except _DuplicateKey as exc:
        problems.add(RECORDS_FILE, f"an object has the key {json.dumps(str(exc))} twice")
    except ValueError as exc:
        problems.add(RECORDS_FILE, str(exc))
    except RecursionError:
        problems.add(RECORDS_FILE, "is nested too deeply")
    return None


def check_format(raw: Any, problems: Problems) -> bool:
    """Return whether the document says it is this format and version; record why not."""
    if not isinstance(raw, dict):
        problems.add(RECORDS_FILE, "must hold a JSON object at the top level")
        return False
    if raw.get("format") != FORMAT_NAME:
        problems.add("format", f"must be {json.dumps(FORMAT_NAME)}; this is not a records export")
        return False
    version = raw.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        problems.add(
            "version",
            f"this service reads version {FORMAT_VERSION}; the file says {json.dumps(version)}",
        )
        return False
    return True


def load_records(data: bytes, problems: Problems) -> dict[str, Any] | None:
    """Return the valid records and the ids of invalid ones, or None if the whole is unusable."""
    # Each record is loaded on its own, so one bad record does not hide the problems of the
    # others; records[INVALID_IDS] lets the later checks skip references to the bad ones.
    raw = parse_json(data, problems)
    if raw is None or not check_format(raw, problems):
        return None
    try:
        records = RecordsSchema().load(raw)
    except ValidationError as exc:
        for where, message in schema_errors(exc.messages, raw):
            problems.add(where, message)
        return None
    records[INVALID_IDS] = {}
    for collection, schema_class in RECORD_SCHEMAS.items():
        schema = schema_class()
        valid, invalid = [], set()
        for index, item in enumerate(records[collection]):
            where = record_where(collection, index, item)
            if not isinstance(item, dict):
                problems.add(where, "must be a JSON object")
                continue
            try:
                valid.append(schema.load(item))
            except ValidationError as exc:
                for place, message in schema_errors(exc.messages, item, where):
                    problems.add(place, message)
                if isinstance(item.get("id"), str):
                    invalid.add(item["id"])
        records[collection] = valid
        records[INVALID_IDS][collection] = invalid
    return records
