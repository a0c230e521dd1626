"""The notice window: what a purge would destroy in the next N days, by pseudonymous pupil."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.records.models import Incident, Pupil, VaultDocument
from exchange.records.sealed_reads import pupil_upns
from exchange.retention.actors import Actor
from exchange.retention.due import DOCUMENT, INCIDENT, DueRecord, classify, due_ids, undated_ids
from exchange.retention.holds import active_holds, place_hold
from exchange.retention.models import LegalHold
from exchange.retention.refs import pupil_ref, school_secret
from exchange.retention.ruleset import current_rule_set
from exchange.transfers.models import OUTGOING, Transfer, TransferItem

DEFAULT_DAYS = 30
UNCATEGORISED = "(uncategorised)"


@dataclass
class PupilNotice:
    """What of one pupil falls due in the window; the pupil is named by reference only."""

    pupil_id: int
    pupil_ref: str
    first_due: date
    incidents_by_category: Counter[str] = field(default_factory=Counter)
    documents_by_type: Counter[str] = field(default_factory=Counter)
    incidents: int = 0
    documents: int = 0
    held: int = 0
    whole_file: bool = False
    hold_reasons: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "pupil_id": self.pupil_id,
            "pupil_ref": self.pupil_ref,
            "first_due": self.first_due.isoformat(),
            "incidents": self.incidents,
            "documents": self.documents,
            "held": self.held,
            "whole_file": self.whole_file,
            "hold_reasons": sorted(self.hold_reasons),
            "incidents_by_category": dict(sorted(self.incidents_by_category.items())),
            "documents_by_type": dict(sorted(self.documents_by_type.items())),
        }


@dataclass
class Forecast:
    """The DPO's notice: due records grouped by pupil reference, and DOBs to fix."""

    as_of: date
    days: int
    rule_set_version: int
    pupils: list[PupilNotice]
    unknown_dob: list[dict[str, Any]]
    records: list[DueRecord] = field(default_factory=list, repr=False)

    @property
    def until(self) -> date:
        """Return the day whose purge this window ends with."""
        return self.as_of + timedelta(days=self.days)

    def totals(self) -> dict[str, Any]:
        """Return counts over every pupil: incidents by category, documents by type, held."""
        by_category: Counter[str] = Counter()
        by_type: Counter[str] = Counter()
        for notice in self.pupils:
            by_category.update(notice.incidents_by_category)
            by_type.update(notice.documents_by_type)
        return {
            "pupils": len(self.pupils),
            "incidents": sum(n.incidents for n in self.pupils),
            "documents": sum(n.documents for n in self.pupils),
            "held": sum(n.held for n in self.pupils),
            "incidents_by_category": dict(sorted(by_category.items())),
            "documents_by_type": dict(sorted(by_type.items())),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "as_of": self.as_of.isoformat(),
            "days": self.days,
            "until": self.until.isoformat(),
            "rule_set_version": self.rule_set_version,
            "totals": self.totals(),
            "pupils": [notice.to_dict() for notice in self.pupils],
            "unknown_dob": self.unknown_dob,
        }


def _sender_copy_candidates(session: Session, school_id: int, kind: str) -> list[int]:
    return list(
        session.scalars(
            select(TransferItem.object_id)
            .join(Transfer, Transfer.id == TransferItem.transfer_id)
            .where(
                Transfer.school_id == school_id,
                Transfer.direction == OUTGOING,
                Transfer.pupil_id.is_not(None),
                Transfer.receipt_verified_at.is_not(None),
                TransferItem.kind == kind,
                TransferItem.included.is_(True),
            )
        )
    )


def _candidates(session: Session, school_id: int, kind: str, before: date) -> list[int]:
    ids = set(due_ids(session, school_id, kind, before))
    ids.update(undated_ids(session, school_id, kind))
    ids.update(_sender_copy_candidates(session, school_id, kind))
    return sorted(ids)


def _unknown_dob(session: Session, school_id: int, secret: bytes) -> list[dict[str, Any]]:
    found: Counter[int] = Counter()
    for model in (Incident, VaultDocument):
        rows = session.execute(
            select(model.pupil_id, func.count())
            .join(Pupil, Pupil.id == model.pupil_id)
            .where(
                model.school_id == school_id,
                model.retain_until.is_(None),
                Pupil.date_of_birth.is_(None),
            )
            .group_by(model.pupil_id)
        )
        for pupil_id, count in rows:
            found[pupil_id] += count
    upns = pupil_upns(session, found)
    return [
        {"pupil_id": pid, "pupil_ref": pupil_ref(secret, upns[pid]), "records": found[pid]}
        for pid in sorted(found)
    ]


def _remaining(session: Session, school_id: int, pupil_id: int) -> int:
    return sum(
        session.scalar(
            select(func.count()).where(model.school_id == school_id, model.pupil_id == pupil_id)
        )
        or 0
        for model in (Incident, VaultDocument)
    )


def forecast(
    session: Session,
    school_id: int,
    instance_key: bytes,
    as_of: date,
    days: int = DEFAULT_DAYS,
) -> Forecast:
    """Return what purges from as_of up to as_of + days would destroy; nothing is written."""
    if days < 0:
        raise ValueError("days must not be negative")
    rules = current_rule_set(session, school_id)
    holds = active_holds(session, school_id)
    until = as_of + timedelta(days=days)
    records: list[DueRecord] = []
    for kind in (INCIDENT, DOCUMENT):
        ids = _candidates(session, school_id, kind, until)
        records += classify(session, school_id, rules, holds, kind, ids, until)
    secret = school_secret(instance_key, school_id)
    upns = pupil_upns(session, {r.pupil_id for r in records})
    notices: dict[int, PupilNotice] = {}
    for record in records:
        notice = notices.get(record.pupil_id)
        first_due = record.retain_until + timedelta(days=1)
        if notice is None:
            notice = notices[record.pupil_id] = PupilNotice(
                record.pupil_id, pupil_ref(secret, upns[record.pupil_id]), max(first_due, as_of)
            )
        notice.first_due = min(notice.first_due, max(first_due, as_of))
        notice.held += record.held
        notice.hold_reasons.update(record.hold_reasons)
        if record.kind == INCIDENT:
            notice.incidents += 1
            notice.incidents_by_category.update(record.paths or (UNCATEGORISED,))
        else:
            notice.documents += 1
            notice.documents_by_type[record.media_type or "unknown"] += 1
    for notice in notices.values():
        due_count = notice.incidents + notice.documents
        notice.whole_file = not notice.held and due_count == _remaining(
            session, school_id, notice.pupil_id
        )
    ordered = sorted(notices.values(), key=lambda n: (n.first_due, n.pupil_ref))
    unknown = _unknown_dob(session, school_id, secret)
    return Forecast(as_of, days, rules.version, ordered, unknown, records)


def held_because(notice: PupilNotice) -> str:
    """Return why a pupil's records are held, in words, for the dry run and the review."""
    return "; ".join(sorted(notice.hold_reasons))


def hold_from_forecast(
    session: Session, school_id: int, notice: PupilNotice, reason: str, actor: Actor
) -> LegalHold:
    """Place a legal hold on the pupil behind a forecast line."""
    return place_hold(session, school_id, "pupil", notice.pupil_id, reason, actor)
