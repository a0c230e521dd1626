"""Celery tasks of the transfer flow: ids in, never personal data; retried with back-off.

The outbox dispatcher queues the first four, each with the id of its outbox row: a task whose
row already ran (a second send after a crash) does nothing, and a task marks its row run in
the same transaction as its work.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from celery import shared_task
from celery.app.task import Task
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from exchange.db import transaction, utcnow
from exchange.instance import Instance
from exchange.logs import get_logger
from exchange.outbox.service import already_ran, celery_sender, dispatch, mark_ran, written_in
from exchange.records.models import School
from exchange.tasks import names
from exchange.transfers import states
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.client import DeliveryError, HttpTransport, Transport
from exchange.transfers.delivery import deliver, fail, send_countersignature
from exchange.transfers.effects import send_message
from exchange.transfers.models import Transfer
from exchange.transfers.notify import send_for
from exchange.transfers.partner_messages import expire_offers
from exchange.transfers.steps import audit

log = get_logger(__name__)
# If the database goes away (a restart, a failover), the task is tried again shortly.
RESILIENT = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "max_retries": 12,
}
STUCK_AFTER = timedelta(hours=2)  # Longer than the longest back-off between two tries.
DUPLICATE = "already ran"


def _instance() -> Instance:
    from exchange.tasks.worker import worker_instance

    return worker_instance()


def transport_for(_instance: Instance, _transfer: Transfer) -> Transport:
    """Return the transport to a partner: real HTTP, for a school hosted here as for any other."""
    return HttpTransport()


@contextmanager
def outbox_work(task: Task, outbox_id: int | None) -> Iterator[tuple[Instance, Session | None]]:
    """Open the task's transaction; yield no session if its outbox row already ran."""
    instance = _instance()
    with transaction(instance.sessions) as session:
        if already_ran(session, outbox_id):
            log.info("duplicate task skipped", extra={"task": task.name, "outbox_id": outbox_id})
            yield instance, None
            return
        yield instance, session
        pending = written_in(session)
    dispatch(instance.sessions, celery_sender(task.app), pending)


def backoff(retries: int) -> int:
    """Return seconds to wait before retry number `retries` (5 s doubling, at most an hour)."""
    return min(5 * 2**retries, 3600)


@shared_task(name=names.SEND_MESSAGE, bind=True, **RESILIENT)
def send_message_task(
    self: Task, transfer_id: int, which: str, outbox_id: int | None = None
) -> str:
    """Send a stored offer or offer response to the other school."""
    error = None
    with outbox_work(self, outbox_id) as (instance, session):
        if session is None:
            return DUPLICATE
        # Locked, so a withdrawal waits for an offer in flight (and its notice then follows it).
        transfer = session.get(Transfer, transfer_id, with_for_update=True)
        try:
            send_message(session, transfer, which, transport_for(instance, transfer))
        except DeliveryError as exc:
            error = exc
        if error is None or self.request.retries >= instance.config["DELIVERY_MAX_RETRIES"]:
            mark_ran(session, outbox_id)
    if error is not None:
        if self.request.retries >= instance.config["DELIVERY_MAX_RETRIES"]:
            log.warning("message not delivered", extra={"transfer_id": transfer_id, "which": which})
            return "gave up"
        raise self.retry(exc=error, countdown=backoff(self.request.retries))
    return "sent"


@shared_task(name=names.DELIVER, bind=True, **RESILIENT)
def deliver_task(self: Task, transfer_id: int, outbox_id: int | None = None) -> str:
    """Deliver an authorised transfer's bundle, retrying until acknowledged or out of tries."""
    error = None
    with outbox_work(self, outbox_id) as (instance, session):
        if session is None:
            return DUPLICATE
        transfer = session.get(Transfer, transfer_id, with_for_update=True)
        try:
            state = deliver(session, instance, transfer, transport_for(instance, transfer))
        except DeliveryError as exc:
            error = exc
            transfer.last_delivery_error = exc.message[:500]
            state = transfer.state
            if self.request.retries >= instance.config["DELIVERY_MAX_RETRIES"]:
                fail(session, instance, transfer, "no acknowledgement after every retry")
                state, error = states.FAILED, None
            else:
                audit(
                    session,
                    transfer,
                    SYSTEM_ACTOR,
                    "transfer.delivery_retry",
                    {"attempt": transfer.delivery_attempts},
                )
        if error is None:
            mark_ran(session, outbox_id)
    if error is not None:
        raise self.retry(exc=error, countdown=backoff(self.request.retries))
    return state


@shared_task(name=names.COUNTERSIGN, bind=True, **RESILIENT)
def countersign_task(self: Task, transfer_id: int, outbox_id: int | None = None) -> str:
    """Give the receiving school our countersignature, retrying if it is unreachable."""
    error = None
    with outbox_work(self, outbox_id) as (instance, session):
        if session is None:
            return DUPLICATE
        transfer = session.get(Transfer, transfer_id, with_for_update=True)
        try:
            state = send_countersignature(
                session, instance, transfer, transport_for(instance, transfer)
            )
        except DeliveryError as exc:
            error, state = exc, transfer.state
        if error is None or self.request.retries >= instance.config["DELIVERY_MAX_RETRIES"]:
            mark_ran(session, outbox_id)
    if error is not None:
        if self.request.retries >= instance.config["DELIVERY_MAX_RETRIES"]:
            return state
        raise self.retry(exc=error, countdown=backoff(self.request.retries))
    return state


@shared_task(name=names.NOTIFY, bind=True, **RESILIENT)
def notify_task(self: Task, transfer_id: int, event: str, outbox_id: int | None = None) -> int:
    """Email the school's DSL (and SENCO) about a transfer event."""
    with outbox_work(self, outbox_id) as (instance, session):
        if session is None:
            return 0
        sent = send_for(session, instance, session.get(Transfer, transfer_id), event)
        mark_ran(session, outbox_id)
        return sent


@shared_task(name=names.TRANSFERS_DAILY, bind=True, **RESILIENT)
def daily_task(self: Task, today: str | None = None) -> dict[str, int]:
    """Expire stale offers; remind DSLs of files due or overdue and send digests, each school."""
    from exchange.notifications.daily import daily_notices

    day = date.fromisoformat(today) if today else date.today()
    counts = {"expired": 0, "reminders": 0, "digests": 0}
    with outbox_work(self, None) as (instance, session):
        assert session is not None
        for school in session.scalars(select(School)):
            counts["expired"] += expire_offers(session, instance, school.id)
            for key, count in daily_notices(session, instance.config, school, day).items():
                counts[key] += count
    log.info("daily transfer checks", extra=counts)
    return counts


def overdue(session: Session, school_id: int, today: date) -> list[Transfer]:
    """Return the school's open transfers past their deadline."""
    return list(
        session.scalars(
            select(Transfer).where(
                Transfer.school_id == school_id,
                Transfer.state.in_(states.OPEN_STATES),
                Transfer.deadline < today,
            )
        )
    )


@shared_task(name=names.TRANSFERS_RESUME, **RESILIENT)
def resume_task() -> dict[str, int]:
    """Queue again what a killed worker left: deliveries and countersignatures stuck for hours."""
    instance = _instance()
    cutoff = utcnow() - STUCK_AFTER
    with instance.sessions() as session:
        stuck = session.execute(
            select(Transfer.id, Transfer.state).where(
                Transfer.route == "online",
                Transfer.state.in_((states.AUTHORISED, states.RECEIPTED)),
                Transfer.updated_at < cutoff,
            )
        ).all()
    for transfer_id, state in stuck:
        task = deliver_task if state == states.AUTHORISED else countersign_task
        task.delay(transfer_id)
    counts = {"requeued": len(stuck)}
    log.info("stuck transfers queued again", extra=counts)
    return counts


@shared_task(name=names.REDACT_VAULT, **RESILIENT)
def redact_vault_task(transfer_id: int, outbox_id: int | None = None) -> str:
    """Redact, check, convert and read a transfer's vault documents in a pool of processes."""
    from exchange.transfers.vault_task import redact_vault

    return redact_vault(_instance(), transfer_id, outbox_id)


@shared_task(name=names.CREATE_BATCH, bind=True, **RESILIENT)
def create_batch_task(self: Task, batch_id: int, outbox_id: int | None = None) -> str:
    """Start each child of a batch of leavers, one transaction per child, with its progress."""
    from exchange.transfers.batch_task import run_batch

    return run_batch(_instance(), batch_id, outbox_id, send=celery_sender(self.app))
