"""Purge history for the DPO: each run with its approval, its counts and its certificate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.retention.certificate import disposition
from exchange.retention.models import DisposalCertificate, PurgeRun


@dataclass(frozen=True)
class RunRecord:
    """One purge run as the DPO reads it."""

    run: PurgeRun
    totals: dict[str, int]
    mode: str
    reviews: list[dict[str, Any]]
    certificate: DisposalCertificate | None


def purge_history(session: Session, school_id: int, limit: int = 200) -> list[RunRecord]:
    """Return the school's purge runs, newest first, with approvals and certificates."""
    runs = session.scalars(
        select(PurgeRun)
        .where(PurgeRun.school_id == school_id)
        .order_by(PurgeRun.id.desc())
        .limit(limit)
    ).all()
    certificates = {
        row.run_id: row
        for row in session.scalars(
            select(DisposalCertificate).where(
                DisposalCertificate.school_id == school_id,
                DisposalCertificate.run_id.in_([run.id for run in runs]),
            )
        )
    }
    records = []
    for run in runs:
        approval = disposition(session, run)
        totals = {
            key: int(value) for key, value in dict((run.counts or {}).get("totals", {})).items()
        }
        records.append(
            RunRecord(run, totals, approval["mode"], approval["reviews"], certificates.get(run.id))
        )
    return records
