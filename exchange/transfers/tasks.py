"""Celery tasks of the transfer flow: ids in, never personal data; retried with back-off."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from celery import shared_task
from celery.app.task import Task
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from exchange.db import transaction, utcnow
from exchange.instance import Instance
from exchange.logs import get_logger
from exchange.records.models import School
from exchange.transfers import states
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.client import DeliveryError, HttpTransport, Transport, WsgiTransport
from exchange.transfers.delivery import deliver, partner_url, send_countersignature
from exchange.transfers.incoming import expire_offers
from exchange.transfers.models import Transfer
from exchange.transfers.notify import send_alert
from exchange.transfers.steps import audit, move

log = get_logger(__name__)
MESSAGE_FIELDS = {"offer": "offer_jws", "response": "response_jws"}
# If the database goes away (a restart, a failover), the task is tried again shortly.
RESILIENT = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "max_retries": 12,
}
STUCK_AFTER = timedelta(hours=2)  # Longer than the longest back-off between two tries.


def _instance() -> Instance:
    from exchange.tasks.worker import worker_instance

    return worker_instance()


def transport_for(instance: Instance, transfer: Transfer) -> Transport:
    """Use real HTTP, except to a school hosted on this very instance (through its own app)."""
    with instance.sessions() as session:
        hosted_here = session.scalar(select(School.id).where(School.urn == transfer.partner.urn))
    if hosted_here is not None:
        return WsgiTransport(_local_app(instance))
    return HttpTransport()


_LOCAL_APPS: dict[int, Any] = {}


def _local_app(instance: Instance) -> Any:
    """Return this worker's one web app for schools hosted here (made once, not per task)."""
    app = _LOCAL_APPS.get(id(instance))
    if app is None:
        from exchange.web import create_app

        app = _LOCAL_APPS[id(instance)] = create_app(dict(instance.config))
        instance.on_close(app.extensions["exchange"].close)
    return app


def backoff(retries: int) -> int:
    """Return seconds to wait before retry number `retries` (5 s doubling, at most an hour)."""
    return min(5 * 2**retries, 3600)


@shared_task(name="exchange.transfers.send_message", bind=True, **RESILIENT)
def send_message_task(self: Task, transfer_id: int, which: str) -> str:
    """Send a stored offer or offer response to the other school."""
    instance = _instance()
    error = None
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        token = getattr(transfer, MESSAGE_FIELDS[which])
        path = "offers" if which == "offer" else "offer-responses"
        try:
            reply = transport_for(instance, transfer).post(partner_url(transfer, path), token)
            if reply.status >= 500:
                raise DeliveryError(f"the other service answered {reply.status}")
            audit(
                session, transfer, SYSTEM_ACTOR, f"transfer.{which}_sent", {"status": reply.status}
            )
            if reply.status >= 400:
                transfer.last_delivery_error = (
                    f"{which} refused ({reply.status}): {reply.body.get('message', '')}"[:500]
                )
        except DeliveryError as exc:
            error = exc
    if error is not None:
        if self.request.retries >= instance.config["DELIVERY_MAX_RETRIES"]:
            log.warning("message not delivered", extra={"transfer_id": transfer_id, "which": which})
            return "gave up"
        raise self.retry(exc=error, countdown=backoff(self.request.retries))
    return "sent"


@shared_task(name="exchange.transfers.deliver", bind=True, **RESILIENT)
def deliver_task(self: Task, transfer_id: int) -> str:
    """Deliver an authorised transfer's bundle, retrying until acknowledged or out of tries."""
    instance = _instance()
    error = None
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id, with_for_update=True)
        try:
            state = deliver(session, instance, transfer, transport_for(instance, transfer))
        except DeliveryError as exc:
            error = exc
            transfer.last_delivery_error = exc.message[:500]
            state = transfer.state
            if self.request.retries >= instance.config["DELIVERY_MAX_RETRIES"]:
                move(
                    session,
                    transfer,
                    states.FAILED,
                    SYSTEM_ACTOR,
                    note="no acknowledgement after every retry",
                )
                send_alert(session, instance.config, transfer, "delivery_failed")
                state, error = states.FAILED, None
            else:
                audit(
                    session,
                    transfer,
                    SYSTEM_ACTOR,
                    "transfer.delivery_retry",
                    {"attempt": transfer.delivery_attempts},
                )
        else:
            if state == states.FAILED:
                send_alert(session, instance.config, transfer, "delivery_failed")
    if error is not None:
        raise self.retry(exc=error, countdown=backoff(self.request.retries))
    if state == states.RECEIPTED:
        countersign_task.delay(transfer_id)
    return state


@shared_task(name="exchange.transfers.countersign", bind=True, **RESILIENT)
def countersign_task(self: Task, transfer_id: int) -> str:
    """Give the receiving school our countersignature, retrying if it is unreachable."""
    instance = _instance()
    error = None
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id, with_for_update=True)
        try:
            state = send_countersignature(
                session, instance, transfer, transport_for(instance, transfer)
            )
        except DeliveryError as exc:
            error, state = exc, transfer.state
    if error is not None:
        if self.request.retries >= instance.config["DELIVERY_MAX_RETRIES"]:
            return state
        raise self.retry(exc=error, countdown=backoff(self.request.retries))
    return state


@shared_task(name="exchange.transfers.notify", **RESILIENT)
def notify_task(transfer_id: int, event: str) -> int:
    """Email the school's DSL (and SENCO) about a transfer event."""
    instance = _instance()
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        return send_alert(session, instance.config, transfer, event)


@shared_task(name="exchange.transfers.daily", **RESILIENT)
def daily_task() -> dict[str, int]:
    """Expire stale offers and remind DSLs of overdue transfers, for every school."""
    instance = _instance()
    counts = {"expired": 0, "overdue": 0}
    with transaction(instance.sessions) as session:
        for school in session.scalars(select(School)):
            counts["expired"] += expire_offers(session, school.id)
            for transfer in overdue(session, school.id, date.today()):
                send_alert(session, instance.config, transfer, "overdue")
                counts["overdue"] += 1
    log.info("daily transfer checks", extra=counts)
    return counts


def overdue(session, school_id: int, today: date) -> list[Transfer]:  # type: ignore[no-untyped-def]
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


@shared_task(name="exchange.transfers.resume", **RESILIENT)
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
