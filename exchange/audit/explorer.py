"""The DPO's audit explorer: who viewed, exported or changed which child's record, and when.

Entries are filtered in SQL by user, event, date and the objects that belong to one child
(the pupil, its transfers, incidents, documents, holds, reviews and redaction reviews). Each
entry is shown with the child's pseudonymous reference, never a name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from exchange.audit.models import AuditEntry, AuditEntryActor
from exchange.records.models import Incident, Pupil, User, VaultDocument
from exchange.records.sealed_reads import pupil_upns, upn_is
from exchange.retention.models import DisposalReview, LegalHold
from exchange.retention.refs import pupil_ref, school_secret
from exchange.retention.rules import LONDON
from exchange.transfers.models import RedactionReview, Transfer

PER_PAGE = 50
CSV_LIMIT = 50_000
CSV_HEADER = (
    "time (UTC)",
    "user",
    "role",
    "event",
    "object type",
    "object id",
    "pupil reference",
    "request",
    "details",
)


@dataclass(frozen=True)
class ChildObjects:
    """The audit objects that belong to one child, by object type."""

    upn: str
    ref: str
    pupil_id: int | None
    ids: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditFilter:
    """What the DPO asked for; None means any."""

    user_id: int | None = None
    child: ChildObjects | None = None
    event: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class ExploredEntry:
    """One audit entry as the DPO reads it."""

    seq: int
    recorded_at: datetime
    user_id: int | None
    role: str
    event: str
    object_type: str
    object_id: str
    pupil_ref: str | None
    request: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class ExploredPage:
    """One page of matching entries and how many matched."""

    entries: list[ExploredEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Return the number of pages (at least one)."""
        return max(1, -(-self.total // self.per_page))


def _start_of(day: date) -> datetime:
    """Return midnight in London on this day, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=LONDON)


def child_objects(session: Session, school_id: int, instance_key: bytes, upn: str) -> ChildObjects:
    """Return what belongs to the child with this UPN, found through the blind index.

    After a purge the pupil row is gone; the minimal transfer records still carry the UPN,
    and disposal reviews the reference, so the child's trail is still found.
    """
    ref = pupil_ref(school_secret(instance_key, school_id), upn)
    pupil_id = session.scalar(
        select(Pupil.id).where(Pupil.school_id == school_id, upn_is(session, school_id, upn))
    )
    # A purged child's former id survives in the DPO's disposal reviews, which carry the ref.
    former = set(
        session.scalars(
            select(DisposalReview.pupil_id).where(
                DisposalReview.school_id == school_id, DisposalReview.pupil_ref == ref
            )
        )
    )
    pupil_ids = former | ({pupil_id} if pupil_id is not None else set())
    transfer_match = Transfer.pupil_upn == upn
    if pupil_ids:
        transfer_match = or_(transfer_match, Transfer.pupil_id.in_(pupil_ids))
    transfers = session.execute(
        select(Transfer.id, Transfer.transfer_uid).where(
            Transfer.school_id == school_id, transfer_match
        )
    ).all()
    transfer_ids = [row.id for row in transfers]
    ids: dict[str, set[str]] = {
        "transfer": {row.transfer_uid for row in transfers},
        "redaction_review": _strings(
            session.scalars(
                select(RedactionReview.id).where(RedactionReview.transfer_id.in_(transfer_ids))
            )
        ),
        "disposal_review": _strings(
            session.scalars(
                select(DisposalReview.id).where(
                    DisposalReview.school_id == school_id,
                    or_(DisposalReview.pupil_ref == ref, DisposalReview.pupil_id.in_(pupil_ids)),
                )
            )
        ),
    }
    if pupil_ids:
        ids["pupil"] = _strings(pupil_ids)
        for name, model in (
            ("incident", Incident),
            ("vault_document", VaultDocument),
            ("legal_hold", LegalHold),
        ):
            ids[name] = _strings(
                session.scalars(
                    select(model.id).where(
                        model.school_id == school_id, model.pupil_id.in_(pupil_ids)
                    )
                )
            )
    return ChildObjects(
        upn, ref, pupil_id, {kind: frozenset(found) for kind, found in ids.items() if found}
    )


def _strings(values: Iterable[object]) -> set[str]:
    return {str(value) for value in values}


def _by_actor(school_id: int, user_id: int) -> Any:
    """Narrow in SQL, through the actor index, to entries that name this user as the actor."""
    acted = select(AuditEntryActor.entry_id).where(
        AuditEntryActor.school_id == school_id, AuditEntryActor.user_id == user_id
    )
    return AuditEntry.id.in_(acted)


def _conditions(school_id: int, wanted: AuditFilter) -> list[Any]:
    conditions: list[Any] = [AuditEntry.school_id == school_id]
    if wanted.event:
        conditions.append(AuditEntry.event == wanted.event)
    if wanted.user_id is not None:
        conditions.append(_by_actor(school_id, wanted.user_id))
    if wanted.since:
        conditions.append(AuditEntry.recorded_at >= _start_of(wanted.since))
    if wanted.until:
        conditions.append(AuditEntry.recorded_at < _start_of(wanted.until + timedelta(days=1)))
    if wanted.child is not None:
        parts = [
            and_(AuditEntry.object_type == kind, AuditEntry.object_id.in_(sorted(ids)))
            for kind, ids in wanted.child.ids.items()
        ]
        conditions.append(or_(*parts) if parts else AuditEntry.id.is_(None))
    return conditions


def _matching(school_id: int, wanted: AuditFilter) -> Any:
    query = select(AuditEntry).where(*_conditions(school_id, wanted))
    return query.order_by(AuditEntry.seq.desc())


def _parsed(entry: AuditEntry) -> dict[str, Any]:
    return json.loads(entry.canonical)


def _by_user(rows: list[AuditEntry], user_id: int | None) -> list[tuple[AuditEntry, dict]]:
    """Pair each entry with its parsed body, keeping only this user's when one is asked for."""
    parsed = [(row, _parsed(row)) for row in rows]
    if user_id is None:
        return parsed
    return [(row, body) for row, body in parsed if body["actor"].get("user") == str(user_id)]


def explore(
    session: Session,
    school_id: int,
    instance_key: bytes,
    wanted: AuditFilter,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> ExploredPage:
    """Return one page of the school's entries that match, newest first."""
    page = max(1, page)
    total = session.scalar(
        select(func.count()).select_from(AuditEntry).where(*_conditions(school_id, wanted))
    )
    rows = session.scalars(
        _matching(school_id, wanted).limit(per_page).offset((page - 1) * per_page)
    ).all()
    # The index narrowed the rows; the exact check is on each entry's own signed bytes.
    pairs = _by_user(list(rows), wanted.user_id)
    refs = _pupil_refs(session, school_id, instance_key, [row for row, _ in pairs])
    return ExploredPage(
        [_explored(row, body, refs) for row, body in pairs], total or 0, page, per_page
    )


def all_matching(
    session: Session, school_id: int, instance_key: bytes, wanted: AuditFilter
) -> list[ExploredEntry]:
    """Return every matching entry (up to CSV_LIMIT), newest first, for the CSV export."""
    return explore(session, school_id, instance_key, wanted, 1, CSV_LIMIT).entries


def _explored(row: AuditEntry, body: dict[str, Any], refs: dict[int, str]) -> ExploredEntry:
    actor = body.get("actor") or {}
    user = actor.get("user")
    return ExploredEntry(
        seq=row.seq,
        recorded_at=row.recorded_at,
        user_id=int(user) if isinstance(user, str) and user.isdigit() else None,
        role=str(actor.get("role") or ""),
        event=row.event,
        object_type=row.object_type,
        object_id=row.object_id,
        pupil_ref=refs.get(row.id),
        request=body.get("request"),
        details=dict(body.get("details") or {}),
    )


def _ints(values: Iterable[str]) -> list[int]:
    return [int(value) for value in values if value.isdigit()]


def _pupil_refs(
    session: Session, school_id: int, instance_key: bytes, rows: list[AuditEntry]
) -> dict[int, str]:
    """Return the pseudonymous reference of the child each entry concerns, where there is one."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        wanted.setdefault(row.object_type, set()).add(row.object_id)
    pupil_of: dict[tuple[str, str], int] = {}
    upn_of: dict[tuple[str, str], str] = {}
    ref_of: dict[tuple[str, str], str] = {}
    for pid in _ints(wanted.get("pupil", ())):
        pupil_of[("pupil", str(pid))] = pid
    for name, model in (
        ("incident", Incident),
        ("vault_document", VaultDocument),
        ("legal_hold", LegalHold),
    ):
        found = session.execute(
            select(model.id, model.pupil_id).where(
                model.school_id == school_id, model.id.in_(_ints(wanted.get(name, ())))
            )
        )
        for object_id, pid in found:
            if pid is not None:
                pupil_of[(name, str(object_id))] = pid
    for object_id, ref in session.execute(
        select(DisposalReview.id, DisposalReview.pupil_ref).where(
            DisposalReview.school_id == school_id,
            DisposalReview.id.in_(_ints(wanted.get("disposal_review", ()))),
        )
    ):
        ref_of[("disposal_review", str(object_id))] = ref
    transfers = {
        row.transfer_uid: row
        for row in session.execute(
            select(Transfer.id, Transfer.transfer_uid, Transfer.pupil_id, Transfer.pupil_upn).where(
                Transfer.school_id == school_id,
                Transfer.transfer_uid.in_(sorted(wanted.get("transfer", ()))),
            )
        )
    }
    for object_id, transfer_id in session.execute(
        select(RedactionReview.id, RedactionReview.transfer_id).where(
            RedactionReview.school_id == school_id,
            RedactionReview.id.in_(_ints(wanted.get("redaction_review", ()))),
        )
    ):
        transfer = session.get(Transfer, transfer_id)
        if transfer is not None:
            upn_of[("redaction_review", str(object_id))] = transfer.pupil_upn
    for uid, transfer in transfers.items():
        upn_of[("transfer", uid)] = transfer.pupil_upn
    upns = pupil_upns(session, set(pupil_of.values()))
    gone = set(pupil_of.values()) - set(upns)
    former: dict[int, str] = dict(
        session.execute(
            select(DisposalReview.pupil_id, DisposalReview.pupil_ref).where(
                DisposalReview.school_id == school_id, DisposalReview.pupil_id.in_(gone)
            )
        ).all()
    )
    for key, pid in pupil_of.items():
        if pid in upns:
            upn_of[key] = upns[pid]
        elif pid in former:
            ref_of[key] = former[pid]
    secret = school_secret(instance_key, school_id)
    refs: dict[int, str] = {}
    for row in rows:
        key = (row.object_type, row.object_id)
        if key in ref_of:
            refs[row.id] = ref_of[key]
        elif upn_of.get(key):
            refs[row.id] = pupil_ref(secret, upn_of[key])
    return refs


def user_names(session: Session, school_id: int) -> dict[int, str]:
    """Return the school's users' names with their roles, by id (staff, not children)."""
    rows = session.execute(
        select(User.id, User.name, User.role).where(User.school_id == school_id).order_by(User.name)
    )
    return {user_id: f"{name} ({role.replace('_', ' ')})" for user_id, name, role in rows}


def events(session: Session, school_id: int) -> list[str]:
    """Return the distinct events in the school's log, for the filter's choices."""
    return list(
        session.scalars(
            select(AuditEntry.event)
            .where(AuditEntry.school_id == school_id)
            .distinct()
            .order_by(AuditEntry.event)
        )
    )


def csv_rows(entries: list[ExploredEntry], names: dict[int, str]) -> list[tuple[str, ...]]:
    """Return the CSV rows of these entries (the caller neutralises formula cells)."""
    return [
        (
            entry.recorded_at.isoformat(),
            names.get(entry.user_id, "the service") if entry.user_id else "the service",
            entry.role,
            entry.event,
            entry.object_type,
            entry.object_id,
            entry.pupil_ref or "",
            entry.request or "",
            json.dumps(entry.details, sort_keys=True),
        )
        for entry in entries
    ]
