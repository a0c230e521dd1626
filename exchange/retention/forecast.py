"""The notice window: what a purge would destroy in the next N days, by pseudonymous pupil.

A shortening rule change still waiting out its notice period is shown apart (`by_change`):
what it will make due in the window, from the day it takes effect, marked with the change.
Those records are never in `pupils` or `records`, which the review and the purge read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.errors import NotFound, ValidationError
from exchange.records.models import Incident, Pupil, VaultDocument
from exchange.records.sealed_reads import pupil_upns
from exchange.retention.actors import Actor
from exchange.retention.due import DOCUMENT, INCIDENT, DueRecord, classify, due_ids, undated_ids
from exchange.retention.holds import ActiveHolds, active_holds, place_hold
from exchange.retention.models import CHANGE_PENDING, LegalHold, RetentionRuleChange
from exchange.retention.refs import pupil_ref, school_secret
from exchange.retention.rules import RuleSet
from exchange.retention.ruleset import current_rule_set, proposed_rules
from exchange.transfers.models import OUTGOING, Transfer, TransferItem

DEFAULT_DAYS = 30
UNCATEGORISED = "(uncategorised)"
CHUNK = 1000


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
    # Set only on a line of `by_change`: the waiting rule change that makes these due.
    change_id: int | None = None
    change_effective_on: date | None = None

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
            **(
                {
                    "change_id": self.change_id,
                    "change_effective_on": self.change_effective_on.isoformat(),
                }
                if self.change_id is not None and self.change_effective_on is not None
                else {}
            ),
        }

    def count(self, record: DueRecord, first_due: date) -> None:
        """Add one due record to this line."""
        self.first_due = min(self.first_due, first_due)
        self.held += record.held
        self.hold_reasons.update(record.hold_reasons)
        if record.kind == INCIDENT:
            self.incidents += 1
            self.incidents_by_category.update(record.paths or (UNCATEGORISED,))
        else:
            self.documents += 1
            self.documents_by_type[record.media_type or "unknown"] += 1


@dataclass
class Forecast:
    """The DPO's notice: due records grouped by pupil reference, and DOBs to fix."""

    as_of: date
    days: int
    rule_set_version: int
    pupils: list[PupilNotice]
    unknown_dob: list[dict[str, Any]]
    records: list[DueRecord] = field(default_factory=list, repr=False)
    by_change: list[PupilNotice] = field(default_factory=list)

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
            "by_waiting_change": [notice.to_dict() for notice in self.by_change],
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
        first_due = max(record.retain_until + timedelta(days=1), as_of)
        if notice is None:
            notice = notices[record.pupil_id] = PupilNotice(
                record.pupil_id, pupil_ref(secret, upns[record.pupil_id]), first_due
            )
        notice.count(record, first_due)
    for notice in notices.values():
        due_count = notice.incidents + notice.documents
        notice.whole_file = not notice.held and due_count == _remaining(
            session, school_id, notice.pupil_id
        )
    ordered = sorted(notices.values(), key=lambda n: (n.first_due, n.pupil_ref))
    unknown = _unknown_dob(session, school_id, secret)
    waiting = _by_waiting_changes(session, school_id, rules, holds, as_of, until, records, secret)
    return Forecast(as_of, days, rules.version, ordered, unknown, records, waiting)


def _by_waiting_changes(
    session: Session,
    school_id: int,
    rules: RuleSet,
    holds: ActiveHolds,
    as_of: date,
    until: date,
    already: list[DueRecord],
    secret: bytes,
) -> list[PupilNotice]:
    """Return, per change and pupil, what waiting changes taking effect by until make due.

    Changes apply in the order they take effect, each on top of the last; a record is shown
    under the first change that makes it due, from the later of its date and that change's.
    """
    changes = session.scalars(
        select(RetentionRuleChange)
        .where(
            RetentionRuleChange.school_id == school_id,
            RetentionRuleChange.state == CHANGE_PENDING,
            RetentionRuleChange.effective_on <= until,
        )
        .order_by(RetentionRuleChange.effective_on, RetentionRuleChange.id)
    ).all()
    if not changes:
        return []
    # Under a shorter rule any record may become due, so every record is a candidate.
    ids = {
        kind: list(
            session.scalars(select(model.id).where(model.school_id == school_id).order_by(model.id))
        )
        for kind, model in ((INCIDENT, Incident), (DOCUMENT, VaultDocument))
    }
    seen = {(record.kind, record.id) for record in already}
    found: list[tuple[RetentionRuleChange, DueRecord, date]] = []
    after = rules
    for change in changes:
        try:
            after = proposed_rules(session, school_id, dict(change.change), base=after)
        except (NotFound, ValidationError):
            continue  # It will lapse when its day comes (changes.apply_due_changes).
        for kind, kind_ids in ids.items():
            for start in range(0, len(kind_ids), CHUNK):
                chunk = kind_ids[start : start + CHUNK]
                for record in classify(session, school_id, after, holds, kind, chunk, until):
                    if (record.kind, record.id) in seen:
                        continue
                    seen.add((record.kind, record.id))
                    due = record.retain_until + timedelta(days=1)
                    found.append((change, record, max(due, change.effective_on, as_of)))
    upns = pupil_upns(session, {record.pupil_id for _, record, _ in found})
    lines: dict[tuple[int, int], PupilNotice] = {}
    for change, record, first_due in found:
        line = lines.get((change.id, record.pupil_id))
        if line is None:
            line = lines[(change.id, record.pupil_id)] = PupilNotice(
                record.pupil_id,
                pupil_ref(secret, upns[record.pupil_id]),
                first_due,
                change_id=change.id,
                change_effective_on=change.effective_on,
            )
        line.count(record, first_due)
    return sorted(lines.values(), key=lambda n: (n.first_due, n.change_id or 0, n.pupil_ref))


def held_because(notice: PupilNotice) -> str:
    """Return why a pupil's records are held, in words, for the dry run and the review."""
    return "; ".join(sorted(notice.hold_reasons))


def hold_from_forecast(
    session: Session, school_id: int, notice: PupilNotice, reason: str, actor: Actor
) -> LegalHold:
    """Place a legal hold on the pupil behind a forecast line."""
    return place_hold(session, school_id, "pupil", notice.pupil_id, reason, actor)
