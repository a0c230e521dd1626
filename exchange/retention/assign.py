"""Give records their retain_until and rule; recompute them after a rule, DOB or receipt change."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.errors import NotFound
from exchange.records.models import Category, Incident, Pupil, VaultDocument, incident_categories
from exchange.records.sealed_reads import pupil_births
from exchange.retention.actors import Actor
from exchange.retention.rules import (
    UNKNOWN_DOB_RULE,
    RuleSet,
    rule_date,
    sender_copy_until,
)
from exchange.transfers.models import OUTGOING, Transfer, TransferItem

CHUNK = 1000
RECEIPT_COMPLETE = "complete"

Dated = tuple[date | None, str]


def _chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def incident_paths(session: Session, incident_ids: Sequence[int]) -> dict[int, list[str]]:
    """Return the category paths of each incident."""
    paths: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(incident_ids):
        rows = session.execute(
            select(incident_categories.c.incident_id, Category.path)
            .join(Category, Category.id == incident_categories.c.category_id)
            .where(incident_categories.c.incident_id.in_(chunk))
        )
        for incident_id, path in rows:
            paths[incident_id].append(path)
    return paths


def sender_copy_dates(
    session: Session, school_id: int, rules: RuleSet, kind: str, object_ids: Sequence[int]
) -> dict[int, date]:
    """Return when the sender's copy of sent records goes, from complete verified receipts only."""
    if rules.sender_copy_days is None or not object_ids:
        return {}
    found: dict[int, date] = {}
    for chunk in _chunks(object_ids):
        rows = session.execute(
            select(TransferItem.object_id, func.min(Transfer.receipt_verified_at))
            .join(Transfer, Transfer.id == TransferItem.transfer_id)
            .where(
                Transfer.school_id == school_id,
                Transfer.direction == OUTGOING,
                Transfer.receipt_verified_at.is_not(None),
                Transfer.receipt_disposition == RECEIPT_COMPLETE,
                TransferItem.kind == kind,
                TransferItem.included.is_(True),
                TransferItem.object_id.in_(chunk),
            )
            .group_by(TransferItem.object_id)
        )
        for object_id, verified_at in rows:
            found[object_id] = sender_copy_until(verified_at, rules.sender_copy_days)
    return found


def _with_sender_copy(dated: Dated, sender_until: date | None, days: int | None) -> Dated:
    until, _rule = dated
    if until is None or sender_until is None or sender_until >= until:
        return dated
    return sender_until, f"sender-copy+{days}d"


def _births(session: Session, pupil_ids: set[int]) -> dict[int, date | None]:
    births: dict[int, date | None] = {}
    for chunk in _chunks(sorted(pupil_ids)):
        births.update(pupil_births(session, chunk))
    return births


def incident_dates(
    session: Session, school_id: int, rules: RuleSet, incident_ids: Sequence[int]
) -> dict[int, Dated]:
    """Return (retain_until, rule) of each incident under rules, from its pupil's DOB."""
    owners: dict[int, int] = {}
    for chunk in _chunks(incident_ids):
        rows = session.execute(
            select(Incident.id, Incident.pupil_id).where(
                Incident.school_id == school_id, Incident.id.in_(chunk)
            )
        )
        owners.update({row[0]: row[1] for row in rows})
    born_on = _births(session, set(owners.values()))
    births = {incident_id: born_on.get(pupil_id) for incident_id, pupil_id in owners.items()}
    paths = incident_paths(session, list(births))
    sender = sender_copy_dates(session, school_id, rules, "incident", list(births))
    dates: dict[int, Dated] = {}
    for incident_id, born in births.items():
        if born is None:
            dates[incident_id] = (None, UNKNOWN_DOB_RULE)
            continue
        rule = rules.rule_for_paths(paths.get(incident_id, ()))
        dated = (rule_date(born, rule), rule)
        dates[incident_id] = _with_sender_copy(
            dated, sender.get(incident_id), rules.sender_copy_days
        )
    return dates


def document_dates(
    session: Session, school_id: int, rules: RuleSet, document_ids: Sequence[int]
) -> dict[int, Dated]:
    """Return (retain_until, rule) of each document: its incident's, else the default rule."""
    owned: list[tuple[int, int | None, int]] = []
    for chunk in _chunks(document_ids):
        owned += session.execute(
            select(VaultDocument.id, VaultDocument.incident_id, VaultDocument.pupil_id).where(
                VaultDocument.school_id == school_id, VaultDocument.id.in_(chunk)
            )
        ).all()
    born_on = _births(session, {pupil_id for _, _, pupil_id in owned})
    rows = [
        (document_id, incident_id, born_on.get(pupil_id))
        for document_id, incident_id, pupil_id in owned
    ]
    attached = incident_dates(
        session, school_id, rules, sorted({i for _, i, _ in rows if i is not None})
    )
    sender = sender_copy_dates(session, school_id, rules, "document", [d for d, _, _ in rows])
    dates: dict[int, Dated] = {}
    for document_id, incident_id, born in rows:
        if born is None:
            dates[document_id] = (None, UNKNOWN_DOB_RULE)
            continue
        if incident_id is not None and incident_id in attached:
            dated = attached[incident_id]
        else:
            default = rules.rule_for_paths(())
            dated = (rule_date(born, default), default)
        dates[document_id] = _with_sender_copy(
            dated, sender.get(document_id), rules.sender_copy_days
        )
    return dates


def _store(session: Session, model: Any, dates: dict[int, Dated]) -> int:
    """Write changed dates with one executemany; return how many rows changed."""
    ids = sorted(dates)
    current: dict[int, Dated] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(model.id, model.retain_until, model.retention_rule).where(model.id.in_(chunk))
        )
        current.update({row[0]: (row[1], row[2]) for row in rows})
    changes = [
        {"b_id": key, "b_until": value[0], "b_rule": value[1]}
        for key, value in dates.items()
        if current.get(key) != value
    ]
    if not changes:
        return 0
    table: Table = model.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(retain_until=bindparam("b_until"), retention_rule=bindparam("b_rule"))
    )
    session.flush()
    session.connection().execute(statement, changes)
    changed_ids = {change["b_id"] for change in changes}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and obj.id in changed_ids:
            session.expire(obj, ["retain_until", "retention_rule"])
    return len(changes)


def recompute_incidents(
    session: Session, school_id: int, incident_ids: Sequence[int], rules: RuleSet | None = None
) -> int:
    """Recompute the dates of some incidents; return how many changed."""
    from exchange.retention.ruleset import current_rule_set

    rules = rules or current_rule_set(session, school_id)
    return _store(session, Incident, incident_dates(session, school_id, rules, incident_ids))


def recompute_documents(
    session: Session, school_id: int, document_ids: Sequence[int], rules: RuleSet | None = None
) -> int:
    """Recompute the dates of some vault documents; return how many changed."""
    from exchange.retention.ruleset import current_rule_set

    rules = rules or current_rule_set(session, school_id)
    return _store(session, VaultDocument, document_dates(session, school_id, rules, document_ids))


def recompute_pupil(
    session: Session, school_id: int, pupil_id: int, rules: RuleSet | None = None
) -> int:
    """Recompute every record of one pupil (after a DOB correction or a verified receipt)."""
    incidents = session.scalars(
        select(Incident.id).where(Incident.school_id == school_id, Incident.pupil_id == pupil_id)
    ).all()
    documents = session.scalars(
        select(VaultDocument.id).where(
            VaultDocument.school_id == school_id, VaultDocument.pupil_id == pupil_id
        )
    ).all()
    return recompute_incidents(session, school_id, incidents, rules) + recompute_documents(
        session, school_id, documents, rules
    )


def recompute_school(session: Session, school_id: int, rules: RuleSet | None = None) -> int:
    """Recompute every record of the school, a chunk at a time; return how many changed."""
    changed = 0
    for model, recompute in ((Incident, recompute_incidents), (VaultDocument, recompute_documents)):
        last = 0
        while True:
            ids = session.scalars(
                select(model.id)
                .where(model.school_id == school_id, model.id > last)
                .order_by(model.id)
                .limit(CHUNK)
            ).all()
            if not ids:
                break
            changed += recompute(session, school_id, ids, rules)
            last = ids[-1]
    return changed


def assign_missing(session: Session, school_id: int, rules: RuleSet | None = None) -> int:
    """Date every record that has no date yet (new, or waiting for a DOB); indexed on NULL."""
    incidents = session.scalars(
        select(Incident.id).where(Incident.school_id == school_id, Incident.retain_until.is_(None))
    ).all()
    documents = session.scalars(
        select(VaultDocument.id).where(
            VaultDocument.school_id == school_id, VaultDocument.retain_until.is_(None)
        )
    ).all()
    return recompute_incidents(session, school_id, incidents, rules) + recompute_documents(
        session, school_id, documents, rules
    )


def apply_sender_copy(session: Session, school_id: int, rules: RuleSet) -> int:
    """Redate sent records of pupils still held here whose receipt was verified complete."""
    if rules.sender_copy_days is None:
        return 0
    rows = session.execute(
        select(TransferItem.kind, TransferItem.object_id)
        .join(Transfer, Transfer.id == TransferItem.transfer_id)
        .where(
            Transfer.school_id == school_id,
            Transfer.direction == OUTGOING,
            Transfer.pupil_id.is_not(None),
            Transfer.receipt_verified_at.is_not(None),
            Transfer.receipt_disposition == RECEIPT_COMPLETE,
            TransferItem.included.is_(True),
        )
    ).all()
    incidents = sorted({object_id for kind, object_id in rows if kind == "incident"})
    documents = sorted({object_id for kind, object_id in rows if kind == "document"})
    return recompute_incidents(session, school_id, incidents, rules) + recompute_documents(
        session, school_id, documents, rules
    )


def correct_date_of_birth(
    session: Session, school_id: int, pupil_id: int, date_of_birth: date | None, actor: Actor
) -> int:
    """Correct a pupil's date of birth, recompute their records and audit it (no DOB logged)."""
    pupil = session.get(Pupil, pupil_id)
    if pupil is None or pupil.school_id != school_id:
        raise NotFound(f"no pupil {pupil_id} at this school")
    pupil.date_of_birth = date_of_birth
    session.flush()
    changed = recompute_pupil(session, school_id, pupil_id)
    record_event(
        session,
        school_id,
        actor.user_id,
        actor.role,
        "retention.dob_corrected",
        "pupil",
        str(pupil_id),
        details={"records_redated": changed, "known": date_of_birth is not None},
    )
    return changed
