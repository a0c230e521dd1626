"""JSON forms of the chronology and the DSL conversation, as they travel in the bundle."""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass
from datetime import date, datetime
from typing import Any

import rfc8785

from exchange.packaging.content import Chronology

CHRONOLOGY_FORMAT = "sgx-chronology"
CONVERSATION_FORMAT = "sgx-conversation"
VERSION = 1
# Version 2 adds optional members (see docs/bundle-format.md section 6); a chronology that
# uses none of them is written exactly as version 1, so version 1 readers still read it.
VERSION_2_MEMBERS = {"follows"}
VERSION_2_INCIDENT_MEMBERS = {"transfer_class", "change"}
READABLE_VERSIONS = (1, 2)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def chronology_json(chronology: Chronology) -> bytes:
    """Return chronology.json: the incidents in time order and the document list."""
    body = _plain(chronology)
    incidents = [_plain(incident) for incident in chronology.in_time_order()]
    uses_v2 = any(body.get(name) is not None for name in VERSION_2_MEMBERS) or any(
        incident.get(name) is not None
        for incident in incidents
        for name in VERSION_2_INCIDENT_MEMBERS
    )
    for incident in incidents:
        for name in VERSION_2_INCIDENT_MEMBERS:
            if incident.get(name) is None:
                incident.pop(name, None)
    for name in VERSION_2_MEMBERS:
        if body.get(name) is None:
            body.pop(name, None)
    body["incidents"] = incidents
    body.pop("conversation")
    version = 2 if uses_v2 else VERSION
    return rfc8785.dumps({"format": CHRONOLOGY_FORMAT, "version": version, **body})


def check_chronology_version(document: dict[str, Any]) -> None:
    """Refuse a chronology.json this service cannot read: another format or an unknown version."""
    if document.get("format") != CHRONOLOGY_FORMAT:
        raise ValueError(f"chronology.json is not an {CHRONOLOGY_FORMAT} document")
    version = document.get("version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        readable = " and ".join(str(known) for known in READABLE_VERSIONS)
        raise ValueError(
            f"chronology.json is version {version!r}; this service reads versions {readable}"
        )


def conversation_json(chronology: Chronology) -> bytes:
    """Return conversation.json: the DSL conversation summary, or null if none was held."""
    conversation = chronology.conversation
    body = None if conversation is None else _plain(asdict(conversation))
    return rfc8785.dumps(
        {
            "format": CONVERSATION_FORMAT,
            "version": VERSION,
            "transfer_id": chronology.transfer_id,
            "conversation": body,
        }
    )
