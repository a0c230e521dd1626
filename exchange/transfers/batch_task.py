"""Make a batch's transfers in a task: queued through the outbox with the batch id, one
transaction per child, so the DSL's page shows "N of M" and a run that stops can carry on.

The Celery task, the web's inline runner and `exchange batches create` all call `run_batch`.
Each child is started and marked done in its own transaction: a run that dies (a killed
worker) leaves the children it finished, and a retry starts only the others. A retry queues
a new run with a new `queued_at`; an older run still going stops at its next child.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from exchange.db import transaction, utcnow
from exchange.instance import Instance
from exchange.logs import get_logger
from exchange.outbox.service import Sender, already_ran, dispatch, enqueue, mark_ran, written_in
from exchange.records.models import User
from exchange.tasks import names
from exchange.transfers.actors import SYSTEM_ACTOR, Actor
from exchange.transfers.batch import finish, start_child
from exchange.transfers.models import OUTGOING, Transfer, TransferBatch

log = get_logger(__name__)
DUPLICATE = "already ran"
NOTHING_QUEUED = "nothing queued"
STALE = "superseded"
STOPPED = "stopped"
MADE = "made"
# No child finished for this long: the worker has most likely died; the DSL may start it again.
STALLED_AFTER = timedelta(minutes=10)

WAITING, RUNNING, STALLED, FINISHED = "waiting", "running", "stalled", "finished"


def queue_batch(session: Session, batch: TransferBatch, actor: Actor) -> None:
    """Queue a run of the batch's plan in the caller's transaction (sent once it commits),
    and audit who started it and how many children it has left (ids and counts only)."""
    from exchange.audit.service import record_event

    again = batch.queued_at is not None or batch.stopped is not None
    plan = batch.plan or []
    record_event(
        session,
        batch.school_id,
        actor.user_id,
        actor.role,
        "batch.started_again" if again else "batch.started",
        "transfer_batch",
        batch.id,
        actor.request_id,
        {"children": len(plan), "left": sum(1 for entry in plan if not entry.get("done"))},
    )
    batch.queued_at = utcnow()
    batch.progress_at = None
    batch.stopped = None
    batch.finished_at = None
    enqueue(session, batch.school_id, names.CREATE_BATCH, [batch.id])


def run_state(batch: TransferBatch, now: datetime | None = None) -> str:
    """Return where the batch's run stands: waiting, running, stalled, stopped or finished."""
    if batch.finished_at is not None:
        return FINISHED
    if batch.stopped or batch.queued_at is None:
        return STOPPED
    last = batch.progress_at or batch.queued_at
    if (now or utcnow()) - last > STALLED_AFTER:
        return STALLED
    return RUNNING if batch.progress_at is not None else WAITING


def can_retry(batch: TransferBatch, now: datetime | None = None) -> bool:
    """Return whether the DSL may start the batch's run again (it stopped or stalled)."""
    return run_state(batch, now) in (STOPPED, STALLED)


def run_batch(
    instance: Instance,
    batch_id: int,
    outbox_id: int | None = None,
    *,
    send: Sender | None = None,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Start each child of the batch's plan not yet started; return what happened."""
    with transaction(instance.sessions) as session:
        if already_ran(session, outbox_id):
            return DUPLICATE
        batch = session.get(TransferBatch, batch_id)
        if batch is None or batch.queued_at is None or batch.finished_at is not None:
            mark_ran(session, outbox_id)
            return NOTHING_QUEUED
        queued_at = batch.queued_at
        count = len(batch.plan or [])
        batch.progress_at = utcnow()
    try:
        for index in range(count):
            with transaction(instance.sessions) as session:
                batch = session.get(TransferBatch, batch_id, with_for_update=True)
                assert batch is not None
                if batch.queued_at != queued_at:
                    mark_ran(session, outbox_id)
                    return STALE
                outcome = start_child(session, instance, batch, index, _actor(session, batch))
                pending = written_in(session)
            if send is not None:
                dispatch(instance.sessions, send, pending)
            if progress is not None and outcome is not None:
                progress(1)
    except OperationalError:
        raise  # The database went away: the task is tried again and carries on.
    except Exception as error:  # Anything else: stop where the DSL can see it, never hang.
        log.exception("batch stopped", extra={"batch_id": batch_id})
        _stop(instance, batch_id, queued_at, outbox_id, type(error).__name__)
        return STOPPED
    with transaction(instance.sessions) as session:
        batch = session.get(TransferBatch, batch_id, with_for_update=True)
        assert batch is not None
        mark_ran(session, outbox_id)
        if batch.queued_at != queued_at:
            return STALE
        finish(batch)
    log.info("batch made", extra={"batch_id": batch_id, "children": count})
    return MADE


def _actor(session: Session, batch: TransferBatch) -> Actor:
    """Return the DSL who made the batch: each child's steps are theirs, as on the page."""
    user = session.get(User, batch.created_by_user_id) if batch.created_by_user_id else None
    return Actor.of(user) if user is not None else SYSTEM_ACTOR


def _stop(
    instance: Instance, batch_id: int, queued_at: datetime, outbox_id: int | None, why: str
) -> None:
    with transaction(instance.sessions) as session:
        batch = session.get(TransferBatch, batch_id, with_for_update=True)
        mark_ran(session, outbox_id)
        if batch is None or batch.queued_at != queued_at:
            return
        batch.stopped = (
            f"The batch stopped ({why}) after {batch.done} of {batch.total} children: "
            "start it again to carry on with the others"
        )
        batch.queued_at = None


def needing_action(session: Session, school_id: int, transfers: Iterable[Transfer]) -> int:
    """Count the batches that need a DSL: a run to start again, or a child waiting for a step."""
    ids = {transfer.batch_id for transfer in transfers if transfer.batch_id is not None}
    unfinished = session.scalars(
        select(TransferBatch).where(
            TransferBatch.school_id == school_id,
            TransferBatch.direction == OUTGOING,
            TransferBatch.finished_at.is_(None),
        )
    )
    ids.update(batch.id for batch in unfinished if can_retry(batch))
    return len(ids)
