"""Entries: canonical bytes, validation, and refusal of personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from exchange.audit.entry import (
    build_entry,
    canonical_bytes,
    format_time,
    parse_entry,
    refuse_personal_data,
)
from exchange.errors import ValidationError

MOMENT = datetime(2025, 9, 1, 8, 30, 0, 1500, tzinfo=UTC)


def entry(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "seq": 4,
        "school": 1,
        "time": MOMENT,
        "actor_user": 7,
        "actor_role": "dsl",
        "event": "transfer.offered",
        "object_type": "transfer",
        "object_id": "1f0c9b2e",
        "request": "req-1",
        "details": {"recipient_school_id": 3},
    }
    fields.update(changes)
    return build_entry(**fields)


def test_canonical_bytes_are_sorted_compact_json() -> None:
    assert canonical_bytes(entry()) == (
        b'{"actor":{"role":"dsl","user":"7"},"details":{"recipient_school_id":3},'
        b'"event":"transfer.offered","object":{"id":"1f0c9b2e","type":"transfer"},'
        b'"request":"req-1","school":1,"seq":4,"time":"2025-09-01T08:30:00.001500Z","v":1}'
    )


def test_time_is_utc_with_microseconds() -> None:
    british_summer = timezone(timedelta(hours=1))
    assert format_time(datetime(2025, 6, 1, 9, 0, tzinfo=british_summer)) == (
        "2025-06-01T08:00:00.000000Z"
    )
    with pytest.raises(ValidationError, match="timezone"):
        format_time(datetime(2025, 6, 1, 9, 0))


def test_parse_round_trips_and_refuses_non_canonical_bytes() -> None:
    data = canonical_bytes(entry())
    assert parse_entry(data) == entry()
    with pytest.raises(ValidationError, match="canonical"):
        parse_entry(data.replace(b'"v":1', b'"v": 1'))
    with pytest.raises(ValidationError, match="canonical"):
        parse_entry(data[:-1] + b',"v":1}')
    with pytest.raises(ValidationError, match="UTF-8 JSON"):
        parse_entry(b"\xff")
    with pytest.raises(ValidationError, match="unexpected"):
        parse_entry(data.replace(b'"v":1', b'"v":1,"x":2').replace(b"{", b"{", 1))


@pytest.mark.parametrize(
    "details",
    [
        {"name": "x"},
        {"first_name": "x"},
        {"forename": "x"},
        {"surname": "x"},
        {"pupil_surname": "x"},
        {"narrative": "x"},
        {"dob": "2010-01-01"},
        {"date_of_birth": "2010-01-01"},
        {"email": "x"},
        {"upn": "x"},
        {"pupil": {"upn": "x"}},
        {"items": [{"legal_name": "x"}]},
        {"reference": "B801200005001"},
        {"contact": "someone@example.org"},
        {"note_id": 1},
        {"reason": "x" * 201},
        {"score": 1.5},
        {"Name": 1},
        {"big": 2**53},
    ],
)
def test_personal_or_unsafe_details_are_refused(details: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        refuse_personal_data(details)
    with pytest.raises(ValidationError):
        entry(details=details)


def test_ids_and_counts_are_allowed() -> None:
    details = {"pupil_id": 42, "file_count": 3, "sha256": "ab" * 32, "flags": [True, None]}
    refuse_personal_data(details)
    assert entry(details=details)["details"] == details


@pytest.mark.parametrize(
    "changes",
    [
        {"event": "Transfer offered"},
        {"event": "offered"},
        {"actor_role": "DSL"},
        {"object_type": "Transfer"},
        {"object_id": "a b"},
        {"object_id": "B801200005001"},
        {"object_id": "x" * 101},
        {"request": "has space"},
        {"seq": -1},
        {"school": 0},
    ],
)
def test_malformed_fields_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        entry(**changes)


def test_system_actor_has_no_user() -> None:
    assert entry(actor_user=None, actor_role="system")["actor"] == {
        "user": None,
        "role": "system",
    }
