"""Plain, already-redacted content of a transfer: what the bundle and the PDFs are made from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import BinaryIO


@dataclass(frozen=True)
class SchoolRef:
    """A school as the documents name it."""

    urn: str
    name: str
    laestab: str | None = None


@dataclass(frozen=True)
class PupilSummary:
    """The child the file is about (inside the encryption only)."""

    display_name: str
    date_of_birth: date | None = None
    upn: str | None = None
    year_group: str | None = None


@dataclass(frozen=True)
class Action:
    """A follow-up on an incident."""

    taken_at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class Edit:
    """A time-stamped change to an incident, shown as an edit mark."""

    edited_at: datetime
    editor: str
    note: str


@dataclass(frozen=True)
class Incident:
    """One redacted incident record."""

    ref: str
    occurred_at: datetime
    category: str
    narrative: str
    subcategories: tuple[str, ...] = ()
    recorded_at: datetime | None = None
    author: str = ""
    status: str = "closed"
    agencies: tuple[str, ...] = ()
    body_map: bool = False
    actions: tuple[Action, ...] = ()
    edits: tuple[Edit, ...] = ()
    # Chronology version 2: the shared transfer class (exchange.policy.classes), and whether
    # this record was sent before and has changed since (a follow-up's "edited").
    transfer_class: str | None = None
    change: str | None = None


@dataclass(frozen=True)
class Conversation:
    """The recorded DSL-to-DSL conversation summary."""

    held_at: datetime
    participants: tuple[str, ...]
    summary: str
    recorded_by: str = ""


@dataclass(frozen=True)
class VaultFile:
    """A vault document to send: its neutral name, a title and a way to read its bytes."""

    name: str
    title: str
    opener: Callable[[], BinaryIO]
    document_date: date | None = None
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class DocumentEntry:
    """A document as listed in the chronology: neutral name, title, size and SHA-256."""

    name: str
    title: str
    sha256: str
    size: int
    document_date: date | None = None


@dataclass(frozen=True)
class RedactionSummary:
    """Counts of what redaction did, without the names it removed."""

    names_replaced: int = 0
    people_pseudonymised: int = 0
    pdf_text_removals: int = 0
    flags_resolved: int = 0

    def to_json(self) -> dict[str, int]:
        """Return the summary as a JSON object."""
        return {
            "names_replaced": self.names_replaced,
            "people_pseudonymised": self.people_pseudonymised,
            "pdf_text_removals": self.pdf_text_removals,
            "flags_resolved": self.flags_resolved,
        }


@dataclass(frozen=True)
class Chronology:
    """Everything the chronology PDF and chronology.json show."""

    transfer_id: str
    sender: SchoolRef
    recipient: SchoolRef
    pupil: PupilSummary
    authorised_by: str
    authorised_at: datetime
    generated_at: datetime
    incidents: tuple[Incident, ...] = ()
    conversation: Conversation | None = None
    documents: tuple[DocumentEntry, ...] = ()
    redaction: RedactionSummary = field(default_factory=RedactionSummary)
    # Chronology version 2: the earlier transfer of this child to the same school, if any.
    follows: str | None = None

    def in_time_order(self) -> list[Incident]:
        """Return the incidents ordered by when they happened."""
        return sorted(self.incidents, key=lambda incident: (incident.occurred_at, incident.ref))
