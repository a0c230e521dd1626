"""The purge: under a lease, destroy due unheld records in committed batches, then certify.

Crash-safety: each batch deletes rows and files and adds its counts to the run row in one
transaction. A run killed part-way stays 'running'; the next purge resumes it, finds only what
is still due, and certifies from the committed counts, so nothing is counted twice.

Safety: rule changes whose notice period is over are applied first; unless the school chose
automatic disposal, only records a DPO approved in a review are destroyed; and a new run that
would destroy more than the volume guard's share of the school's records does not start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exchange.audit.service import record_event
from exchange.db import transaction, utcnow
from exchange.errors import ExchangeError
from exchange.logs import get_logger
from exchange.packaging.keys import load_signing_key
from exchange.retention import lease
from exchange.retention.actors import SYSTEM, Actor
from exchange.retention.assign import (
    apply_sender_copy,
    assign_missing,
    recompute_documents,
    recompute_incidents,
)
from exchange.retention.certificate import issue_certificate
from exchange.retention.changes import apply_due_changes
from exchange.retention.destroy import (
    Tally,
    destroy_documents,
    destroy_incidents,
    finish_pupils,
    pupil_refs,
)
from exchange.retention.due import DOCUMENT, INCIDENT, classify, due_ids
from exchange.retention.errors import PurgeBusy
from exchange.retention.forecast import Forecast, forecast
from exchange.retention.holds import active_holds
from exchange.retention.models import RUN_FINISHED, RUN_RUNNING, PurgeRun
from exchange.retention.refs import school_secret
from exchange.retention.review import Approvals, approvals
from exchange.retention.rules import london_date
from exchange.retention.ruleset import current_rule_set
from exchange.retention.settings import automatic_disposal
from exchange.retention.volume import guard_counts
from exchange.vault.store import BlobStore

log = get_logger(__name__)
BATCH_SIZE = 500
DEFAULT_VOLUME_GUARD_PERCENT = 10
AUTOMATIC = "automatic"
REVIEWED = "review"

AfterBatch = Callable[[int], None]


@dataclass
class PurgeResult:
    """What one call did: runs finished (a resumed one, then today's), and certificates."""

    school_id: int
    as_of: date
    run_ids: list[int] = field(default_factory=list)
    certificate_ids: list[int] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    stopped: dict[str, int] | None = None


def preview(session: Session, school_id: int, instance_key: bytes, as_of: date) -> Forecast:
    """Return what a purge on as_of would destroy (a dry run: nothing is written)."""
    return forecast(session, school_id, instance_key, as_of, days=0)


def _open_run(
    factory: sessionmaker[Session],
    school_id: int,
    as_of: date,
    actor: Actor,
    guard_percent: int | None,
) -> int | dict[str, int]:
    """Resume or start a run and return its id; or return the guard's counts if it stops."""
    with transaction(factory) as session:
        unfinished = session.scalars(
            select(PurgeRun)
            .where(PurgeRun.school_id == school_id, PurgeRun.state == RUN_RUNNING)
            .order_by(PurgeRun.id)
            .limit(1)
        ).first()
        if unfinished is not None:
            log.info("purge resumes", extra={"school_id": school_id, "run_id": unfinished.id})
            return unfinished.id
        rules = current_rule_set(session, school_id)
        assign_missing(session, school_id, rules)
        apply_sender_copy(session, school_id, rules)
        mode = AUTOMATIC if automatic_disposal(session, school_id) else REVIEWED
        if guard_percent is not None:
            volume = guard_counts(session, school_id, as_of, mode, guard_percent)
            if volume["would_destroy"] * 100 > guard_percent * volume["records"]:
                record_event(
                    session,
                    school_id,
                    actor.user_id,
                    actor.role,
                    "retention.purge_stopped",
                    "school",
                    str(school_id),
                    details={"as_of": as_of.isoformat(), **volume},
                )
                log.warning("purge stopped by the volume guard", extra={"school_id": school_id})
                return volume
        run = PurgeRun(
            school_id=school_id,
            as_of=as_of,
            state=RUN_RUNNING,
            rule_set_version=rules.version,
            counts={"disposition": mode, "reviews": []},
            batches=0,
            actor_user_id=actor.user_id,
            started_at=utcnow(),
        )
        session.add(run)
        session.flush()
        return run.id


def _batch(
    session: Session,
    blobs: BlobStore,
    run: PurgeRun,
    secret: bytes,
    kind: str,
    after_id: int,
    batch_size: int,
    approved: Approvals | None,
) -> tuple[int, Tally, set[int]] | None:
    """Destroy one batch of one kind; return the last id looked at, the tally, reviews used."""
    ids = due_ids(session, run.school_id, kind, run.as_of, after_id, batch_size)
    if not ids:
        return None
    rules = current_rule_set(session, run.school_id)
    recompute = recompute_incidents if kind == INCIDENT else recompute_documents
    recompute(session, run.school_id, ids, rules)
    records = classify(
        session, run.school_id, rules, active_holds(session, run.school_id), kind, ids, run.as_of
    )
    doomed = [record for record in records if not record.held]
    reviews: set[int] = set()
    if approved is not None:
        found = [(record, approved.review_for(record)) for record in doomed]
        doomed = [record for record, review in found if review is not None]
        reviews = {review for _, review in found if review is not None}
    tally = Tally()
    if doomed:
        touched = {record.pupil_id for record in doomed}
        refs = pupil_refs(session, secret, touched)
        destroy = destroy_incidents if kind == INCIDENT else destroy_documents
        destroy(session, blobs, doomed, tally, refs)
        finish_pupils(session, blobs, run.school_id, touched, tally, refs)
    return ids[-1], tally, reviews


def _work(
    factory: sessionmaker[Session],
    blobs: BlobStore,
    run_id: int,
    secret: bytes,
    owner: str,
    batch_size: int,
    after_batch: AfterBatch | None,
) -> None:
    with factory() as session:
        run = session.get(PurgeRun, run_id)
        reviewed = (run.counts or {}).get("disposition", REVIEWED) != AUTOMATIC
        approved = approvals(session, run.school_id) if reviewed else None
    for kind in (INCIDENT, DOCUMENT):
        after_id = 0
        while True:
            with transaction(factory) as session:
                run = session.get(PurgeRun, run_id)
                if not lease.renew(session, lease.lease_name(run.school_id), owner):
                    raise PurgeBusy("the purge lease was lost to another purger; stopping")
                outcome = _batch(session, blobs, run, secret, kind, after_id, batch_size, approved)
                if outcome is None:
                    break
                after_id, tally, reviews = outcome
                counts = dict(run.counts or {})
                used = sorted(set(counts.get("reviews") or []) | reviews)
                run.counts = {**counts, **tally.merge_into(counts), "reviews": used}
                run.batches += 1
                batch_number = run.batches
                log.info(
                    "purge batch",
                    extra={
                        "school_id": run.school_id,
                        "run_id": run_id,
                        "kind": kind,
                        **{k: v for k, v in tally.totals.items() if v},
                    },
                )
            if after_batch is not None:
                after_batch(batch_number)


def _finish(
    factory: sessionmaker[Session], run_id: int, instance_key: bytes, actor: Actor
) -> tuple[int | None, dict[str, int]]:
    with transaction(factory) as session:
        run = session.get(PurgeRun, run_id)
        now = utcnow()
        totals = dict((run.counts or {}).get("totals", {}))
        certificate_id = None
        if any(totals.values()):
            key = load_signing_key(session, run.school_id, instance_key)
            certificate_id = issue_certificate(session, run, key, actor, now).id
        run.state = RUN_FINISHED
        run.finished_at = now
        record_event(
            session,
            run.school_id,
            actor.user_id,
            actor.role,
            "retention.purge_finished",
            "purge_run",
            str(run.id),
            details={
                "as_of": run.as_of.isoformat(),
                "rule_set_version": run.rule_set_version,
                "certificate_id": certificate_id,
                **{key: int(value) for key, value in sorted(totals.items())},
            },
        )
        log.info(
            "purge finished",
            extra={"school_id": run.school_id, "run_id": run.id, **totals},
        )
        return certificate_id, totals


def purge_school(
    factory: sessionmaker[Session],
    blobs: BlobStore,
    instance_key: bytes,
    school_id: int,
    *,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    after_batch: AfterBatch | None = None,
    volume_guard_percent: int | None = None,
    config: dict[str, Any] | None = None,
) -> PurgeResult:
    """Destroy what is due today (Europe/London), not held and approved; resume a run first.

    The scheduled task and the CLI pass the volume guard's percent from the settings; None
    (the default for callers in code) turns it off, as for a DPO who confirmed the volume.
    """
    as_of = london_date(now or utcnow())
    name, owner = lease.lease_name(school_id), lease.new_owner()
    if not lease.acquire(factory, name, owner):
        raise PurgeBusy(f"a purge of school {school_id} is already running")
    result = PurgeResult(school_id, as_of)
    secret = school_secret(instance_key, school_id)
    try:
        with factory() as session:
            load_signing_key(session, school_id, instance_key)  # No proof, no disposal.
        with transaction(factory) as session:
            apply_due_changes(session, school_id, as_of)
        while True:
            run_id = _open_run(factory, school_id, as_of, actor, volume_guard_percent)
            if isinstance(run_id, dict):
                result.stopped = run_id
                _alert(factory, config, school_id, as_of, run_id)
                return result
            _work(factory, blobs, run_id, secret, owner, batch_size, after_batch)
            certificate_id, totals = _finish(factory, run_id, instance_key, actor)
            result.run_ids.append(run_id)
            if certificate_id is not None:
                result.certificate_ids.append(certificate_id)
            for key, value in totals.items():
                result.totals[key] = result.totals.get(key, 0) + int(value)
            with factory() as session:
                finished_as_of = session.get(PurgeRun, run_id).as_of
            if finished_as_of >= as_of:
                return result
    finally:
        lease.release(factory, name, owner)


def rotate_wrapping_key(factory: sessionmaker[Session], instance_key: bytes) -> int | None:
    """After destroyed keys committed, move survivors to a new epoch and destroy the old one.

    Called by the scheduled task and `exchange purge` once every school is done (the cost is
    O(surviving pupils) of the instance, so not per school). A rotation that cannot run now
    (another is running) stays owed: the next purge does it. Returns the new epoch, if any.
    """
    from exchange.vault.rotation import rotate_if_owed

    try:
        rotation = rotate_if_owed(factory, instance_key)
    except ExchangeError as exc:
        log.error("wrapping key rotation left owed", extra={"error": exc.code})
        return None
    return None if rotation is None else rotation.epoch


def _alert(
    factory: sessionmaker[Session],
    config: dict[str, Any] | None,
    school_id: int,
    as_of: date,
    counts: dict[str, int],
) -> None:
    """Tell the DPO the guard stopped the purge (by email when a mail server is set up)."""
    from exchange.retention.notify import guard_alert

    with factory() as session:
        guard_alert(session, config or {}, school_id, as_of, counts)


def purge_all_schools(
    factory: sessionmaker[Session], blobs: BlobStore, instance_key: bytes, **kwargs: Any
) -> list[PurgeResult]:
    """Purge every school on the instance, one after another."""
    from exchange.records.models import School

    with factory() as session:
        school_ids = list(session.scalars(select(School.id).order_by(School.id)))
    results, failed = [], []
    for school_id in school_ids:
        try:
            results.append(purge_school(factory, blobs, instance_key, school_id, **kwargs))
        except ExchangeError as exc:
            failed.append(school_id)
            log.error("purge failed", extra={"school_id": school_id, "error": exc.code})
    if failed:
        raise ExchangeError(f"the purge failed for schools {failed}; the others finished")
    return results
