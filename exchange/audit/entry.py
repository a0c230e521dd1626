"""The audit entry: its fields, its checks, and its canonical bytes (RFC 8785).

An entry records who did what to which object, when and from which request, with ids only.
Its canonical bytes are the leaf data of the Merkle tree, so anyone can re-hash them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import rfc8785

from exchange.errors import ValidationError
from exchange.safe_json import loads_bounded

ENTRY_VERSION = 1
ENTRY_KEYS = frozenset(
    {"v", "seq", "school", "time", "actor", "event", "object", "request", "details"}
)
ACTOR_KEYS = frozenset({"user", "role"})
OBJECT_KEYS = frozenset({"type", "id"})

EVENT_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
TIME_PATTERN = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
MAX_ID_LENGTH = 100
MAX_DETAIL_STRING = 200
MAX_DETAIL_DEPTH = 4

# Keys that name a person or hold narrative; refused in details at any depth.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "names",
        "forename",
        "forenames",
        "surname",
        "firstname",
        "lastname",
        "fullname",
        "givenname",
        "familyname",
        "middlename",
        "preferredname",
        "displayname",
        "legalname",
        "narrative",
        "description",
        "summary",
        "note",
        "notes",
        "comment",
        "comments",
        "text",
        "body",
        "dob",
        "dateofbirth",
        "birthdate",
        "birthday",
        "email",
        "emailaddress",
        "upn",
        "uln",
        "address",
        "postcode",
        "phone",
        "telephone",
        "mobile",
        "nhsnumber",
        "ninumber",
    }
)
# Values that look like a UPN (13 characters) or an e-mail address.
UPN_VALUE = re.compile(r"[A-Z][0-9]{11}[0-9A-Z]")
EMAIL_VALUE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def format_time(moment: datetime) -> str:
    """Return an aware datetime as RFC 3339 UTC with microseconds, e.g. ...T09:30:00.000000Z."""
    if moment.tzinfo is None:
        raise ValidationError("audit times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse the time format written by format_time."""
    if not isinstance(text, str) or not TIME_PATTERN.fullmatch(text):
        raise ValidationError(f"time {text!r} is not RFC 3339 UTC with microseconds")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _key_words(key: str) -> set[str]:
    """Return the words of a snake_case key and the words run together."""
    words = [word for word in key.lower().split("_") if word]
    return {*words, "".join(words)}


def refuse_personal_data(details: Mapping[str, Any], *, where: str = "details") -> None:
    """Raise ValidationError if details has a personal key or value, a float, or long text."""
    _check_details_value(details, where, depth=0)


def _check_details_value(value: Any, where: str, depth: int) -> None:
    if depth > MAX_DETAIL_DEPTH:
        raise ValidationError("nested too deeply", where=where)
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not NAME_PATTERN.fullmatch(key):
                raise ValidationError(f"key {key!r} is not a lower_snake_case name", where=where)
            personal = _key_words(key) & PERSONAL_KEYS
            if personal:
                raise ValidationError(
                    f"key {key!r} looks like personal data ({sorted(personal)[0]}): "
                    "audit entries hold ids only",
                    where=where,
                )
            _check_details_value(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _check_details_value(item, f"{where}[{position}]", depth + 1)
    elif isinstance(value, str):
        if len(value) > MAX_DETAIL_STRING:
            raise ValidationError(
                f"text longer than {MAX_DETAIL_STRING} characters: audit entries hold ids only",
                where=where,
            )
        if UPN_VALUE.fullmatch(value.strip()) or EMAIL_VALUE.fullmatch(value.strip()):
            raise ValidationError("value looks like a UPN or an e-mail address", where=where)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) >= 2**53:
            raise ValidationError("integers must be within +/- 2^53 (RFC 8785)", where=where)
    else:
        raise ValidationError(
            f"{type(value).__name__} is not allowed: use strings, integers, booleans, "
            "null, lists and objects",
            where=where,
        )


def _check_id(value: Any, where: str, *, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    if (
        not isinstance(value, str)
        or len(value) > MAX_ID_LENGTH
        or not ID_PATTERN.fullmatch(value)
        or UPN_VALUE.fullmatch(value)
    ):
        raise ValidationError(
            f"{value!r} is not an id (letters, digits, '.', '_', ':' or '-', at most "
            f"{MAX_ID_LENGTH}; never a UPN)",
            where=where,
        )


def _check_exact_keys(value: Any, keys: frozenset[str], where: str) -> None:
    if not isinstance(value, dict):
        raise ValidationError("must be an object", where=where)
    if set(value) != keys:
        missing, extra = sorted(keys - set(value)), sorted(set(value) - keys)
        raise ValidationError(f"wrong keys (missing {missing}, unexpected {extra})", where=where)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_entry(entry: Mapping[str, Any]) -> None:
    """Raise ValidationError unless entry is a well-formed version 1 audit entry."""
    _check_exact_keys(entry, ENTRY_KEYS, "entry")
    if entry["v"] != ENTRY_VERSION or not _is_int(entry["v"]):
        raise ValidationError(f"unsupported entry version {entry['v']!r}", where="entry.v")
    if not _is_int(entry["seq"]) or entry["seq"] < 0:
        raise ValidationError("must be a non-negative integer", where="entry.seq")
    if not _is_int(entry["school"]) or entry["school"] < 1:
        raise ValidationError("must be a positive integer", where="entry.school")
    parse_time(entry["time"])
    _check_exact_keys(entry["actor"], ACTOR_KEYS, "entry.actor")
    _check_id(entry["actor"]["user"], "entry.actor.user", nullable=True)
    role = entry["actor"]["role"]
    if not isinstance(role, str) or not NAME_PATTERN.fullmatch(role):
        raise ValidationError(f"{role!r} is not a role name", where="entry.actor.role")
    event = entry["event"]
    if not isinstance(event, str) or not EVENT_PATTERN.fullmatch(event):
        raise ValidationError(
            f"{event!r} is not an event name like 'transfer.offered'", where="entry.event"
        )
    _check_exact_keys(entry["object"], OBJECT_KEYS, "entry.object")
    object_type = entry["object"]["type"]
    if not isinstance(object_type, str) or not NAME_PATTERN.fullmatch(object_type):
        raise ValidationError(f"{object_type!r} is not a type name", where="entry.object.type")
    _check_id(entry["object"]["id"], "entry.object.id")
    _check_id(entry["request"], "entry.request", nullable=True)
    if not isinstance(entry["details"], dict):
        raise ValidationError("must be an object", where="entry.details")
    refuse_personal_data(entry["details"], where="entry.details")


def build_entry(
    *,
    seq: int,
    school: int,
    time: datetime,
    actor_user: str | int | None,
    actor_role: str,
    event: str,
    object_type: str,
    object_id: str | int,
    request: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a validated entry dict; integer ids are written as decimal strings."""
    entry = {
        "v": ENTRY_VERSION,
        "seq": seq,
        "school": school,
        "time": format_time(time),
        "actor": {"user": None if actor_user is None else str(actor_user), "role": actor_role},
        "event": event,
        "object": {"type": object_type, "id": str(object_id)},
        "request": request,
        "details": dict(details or {}),
    }
    validate_entry(entry)
    return entry


def canonical_bytes(entry: Mapping[str, Any]) -> bytes:
    """Return the RFC 8785 (JCS) serialisation of a validated entry."""
    validate_entry(entry)
    return rfc8785.dumps(entry)


def parse_entry(data: bytes) -> dict[str, Any]:
    """Parse stored entry bytes, refusing anything invalid or not exactly canonical."""
    try:
        entry = loads_bounded(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"entry bytes are not UTF-8 JSON: {exc}") from exc
    validate_entry(entry)
    if rfc8785.dumps(entry) != data:
        raise ValidationError("entry bytes are not in RFC 8785 canonical form")
    return entry
