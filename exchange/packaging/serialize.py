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
    body["incidents"] = [_plain(incident) for incident in chronology.in_time_order()]
    body.pop("conversation")
    return rfc8785.dumps({"format": CHRONOLOGY_FORMAT, "version": VERSION, **body})


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
