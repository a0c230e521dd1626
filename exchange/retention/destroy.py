"""Destroy one batch of due records and, once nothing of a pupil remains, the pupil and key."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from exchange.records.models import (
    Incident,
    IncidentAction,
    IncidentEdit,
    Pupil,
    PupilDataKey,
    VaultDocument,
    incident_categories,
    incident_linked_pupils,
)
from exchange.records.sealed_reads import pupil_upns
from exchange.retention.due import DOCUMENT, INCIDENT, DueRecord
from exchange.retention.refs import pupil_ref
from exchange.retention.transfer_minimise import delete_blob, drop_redactions, minimise_transfers
from exchange.vault.pupil_keys import destroy_pupil_keys
from exchange.vault.store import BlobStore

TOTAL_KEYS = (
    "incidents",
    "actions",
    "edits",
    "documents",
    "files",
    "pupils_removed",
    "keys_destroyed",
    "links_removed",
    "transfers_minimised",
)


def _gone(**kwargs: Any) -> dict[str, Any]:
    return {"synchronize_session": False, **kwargs}


@dataclass
class Tally:
    """Counts of one batch, merged into the run's committed counts."""

    totals: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    pupils: dict[str, dict[str, Any]] = field(default_factory=dict)

    def pupil(self, ref: str) -> dict[str, Any]:
        """Return the per-pupil counts of a reference."""
        return self.pupils.setdefault(ref, {"incidents": 0, "documents": 0, "whole_file": False})

    def merge_into(self, counts: dict[str, Any]) -> dict[str, Any]:
        """Return counts plus this tally, as a new JSON-ready dict."""
        merged = {
            "totals": dict(Counter(counts.get("totals", {})) + self.totals),
            "incidents_by_category": dict(
                Counter(counts.get("incidents_by_category", {})) + self.by_category
            ),
            "documents_by_type": dict(Counter(counts.get("documents_by_type", {})) + self.by_type),
            "rules": dict(Counter(counts.get("rules", {})) + self.by_rule),
            "pupils": {ref: dict(value) for ref, value in counts.get("pupils", {}).items()},
        }
        for ref, value in self.pupils.items():
            entry = merged["pupils"].setdefault(
                ref, {"incidents": 0, "documents": 0, "whole_file": False}
            )
            entry["incidents"] += value["incidents"]
            entry["documents"] += value["documents"]
            entry["whole_file"] = entry["whole_file"] or value["whole_file"]
        for key in TOTAL_KEYS:
            merged["totals"].setdefault(key, 0)
        return merged


def _delete_documents(
    session: Session, blobs: BlobStore, rows: Sequence[Any], tally: Tally, refs: dict[int, str]
) -> None:
    """Delete document rows and their blob files; rows are (id, pupil_id, media_type, key)."""
    if not rows:
        return
    ids = [row[0] for row in rows]
    for _document_id, pupil_id, media_type, storage_key in rows:
        tally.totals["files"] += delete_blob(blobs, storage_key)
        tally.totals["documents"] += 1
        tally.by_type[media_type or "unknown"] += 1
        tally.pupil(refs[pupil_id])["documents"] += 1
    drop_redactions(session, blobs, DOCUMENT, ids)
    session.execute(
        delete(VaultDocument).where(VaultDocument.id.in_(ids)), execution_options=_gone()
    )


def _document_rows(session: Session, where: Any) -> Sequence[Any]:
    return session.execute(
        select(
            VaultDocument.id,
            VaultDocument.pupil_id,
            VaultDocument.media_type,
            VaultDocument.storage_key,
        ).where(where)
    ).all()


def destroy_incidents(
    session: Session,
    blobs: BlobStore,
    records: Sequence[DueRecord],
    tally: Tally,
    refs: dict[int, str],
) -> None:
    """Delete incidents with their actions, edits, links, categories and attached documents."""
    if not records:
        return
    ids = [record.id for record in records]
    _delete_documents(
        session, blobs, _document_rows(session, VaultDocument.incident_id.in_(ids)), tally, refs
    )
    action_ids = session.scalars(
        select(IncidentAction.id).where(IncidentAction.incident_id.in_(ids))
    ).all()
    drop_redactions(session, blobs, "action", action_ids)
    drop_redactions(session, blobs, INCIDENT, ids)
    tally.totals["actions"] += len(action_ids)
    tally.totals["edits"] += (
        session.scalar(
            select(func.count()).select_from(IncidentEdit).where(IncidentEdit.incident_id.in_(ids))
        )
        or 0
    )
    for table_or_model in (IncidentAction, IncidentEdit):
        session.execute(
            delete(table_or_model).where(table_or_model.incident_id.in_(ids)),
            execution_options=_gone(),
        )
    for table in (incident_categories, incident_linked_pupils):
        session.execute(delete(table).where(table.c.incident_id.in_(ids)))
    session.execute(delete(Incident).where(Incident.id.in_(ids)), execution_options=_gone())
    for record in records:
        tally.totals["incidents"] += 1
        tally.by_category.update(record.paths or ("(uncategorised)",))
        tally.by_rule[record.rule] += 1
        tally.pupil(refs[record.pupil_id])["incidents"] += 1


def destroy_documents(
    session: Session,
    blobs: BlobStore,
    records: Sequence[DueRecord],
    tally: Tally,
    refs: dict[int, str],
) -> None:
    """Delete due documents and their blob files."""
    if not records:
        return
    ids = [record.id for record in records]
    _delete_documents(
        session, blobs, _document_rows(session, VaultDocument.id.in_(ids)), tally, refs
    )
    tally.by_rule.update(record.rule for record in records)


def finish_pupils(
    session: Session,
    blobs: BlobStore,
    school_id: int,
    pupil_ids: Collection[int],
    tally: Tally,
    refs: dict[int, str],
) -> list[int]:
    """Of these pupils, those with nothing left lose their key, links and row; return them."""
    if not pupil_ids:
        return []
    remaining: set[int] = set()
    for model in (Incident, VaultDocument):
        remaining.update(
            session.scalars(select(model.pupil_id).where(model.pupil_id.in_(pupil_ids)).distinct())
        )
    empty = sorted(set(pupil_ids) - remaining)
    if not empty:
        return []
    gone = list(
        session.scalars(
            select(Pupil.id)
            .where(Pupil.id.in_(empty), Pupil.school_id == school_id)
            .order_by(Pupil.id)
        )
    )
    if not gone:
        return []
    links = session.execute(
        delete(incident_linked_pupils).where(incident_linked_pupils.c.pupil_id.in_(gone))
    )
    tally.totals["links_removed"] += links.rowcount or 0
    tally.totals["transfers_minimised"] += minimise_transfers(session, blobs, school_id, gone)
    tally.totals["keys_destroyed"] += destroy_pupil_keys(session, gone)
    session.execute(
        delete(PupilDataKey).where(PupilDataKey.pupil_id.in_(gone)), execution_options=_gone()
    )
    # Not _gone(): a pupil loaded in this session is marked deleted, not left stale.
    session.execute(delete(Pupil).where(Pupil.id.in_(gone)))
    for pupil_id in gone:
        tally.totals["pupils_removed"] += 1
        tally.pupil(refs[pupil_id])["whole_file"] = True
    return gone


def pupil_refs(session: Session, secret: bytes, pupil_ids: set[int]) -> dict[int, str]:
    """Return the pseudonymous reference of each pupil id."""
    upns = pupil_upns(session, pupil_ids)
    return {pupil_id: pupil_ref(secret, upn) for pupil_id, upn in upns.items()}
