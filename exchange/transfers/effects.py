"""The work of each outbox task, shared by the Celery worker and the in-process runner."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import transaction
from exchange.instance import Instance
from exchange.logs import get_logger
from exchange.outbox.models import OutboxMessage
from exchange.outbox.service import Sender, already_ran, dispatch, mark_ran, written_in
from exchange.tasks import names
from exchange.transfers import states
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.client import DeliveryError, Transport
from exchange.transfers.delivery import deliver, partner_url, send_countersignature
from exchange.transfers.models import OUTGOING, Transfer
from exchange.transfers.notify import send_for
from exchange.transfers.steps import audit

log = get_logger(__name__)
MESSAGE_FIELDS = {"offer": "offer_jws", "response": "response_jws", "notice": "notice_jws"}
MESSAGE_PATHS = {"offer": "offers", "response": "offer-responses", "notice": "notices"}


def send_message(session: Session, transfer: Transfer, which: str, transport: Transport) -> None:
    """Send a stored offer or offer response to the other school; raise DeliveryError to retry.

    A withdrawal can overtake its own offer in the outbox (the offer's row not yet run when
    the DSL withdraws). The offer then never goes, and the withdrawal notice of an offer that
    never went is not sent either: the other school holds nothing to withdraw.
    """
    withheld = _withheld(session, transfer, which)
    if withheld is not None:
        audit(session, transfer, SYSTEM_ACTOR, f"transfer.{which}_withheld", {"why": withheld})
        return
    token = getattr(transfer, MESSAGE_FIELDS[which])
    path = MESSAGE_PATHS[which]
    reply = transport.post(partner_url(transfer, path), token)
    if reply.status >= 500:
        raise DeliveryError(f"the other service answered {reply.status}")
    audit(session, transfer, SYSTEM_ACTOR, f"transfer.{which}_sent", {"status": reply.status})
    if reply.status >= 400:
        transfer.last_delivery_error = (
            f"{which} refused ({reply.status}): {reply.body.get('message', '')}"[:500]
        )


def _withheld(session: Session, transfer: Transfer, which: str) -> str | None:
    """Return why this message must not go now that the transfer was withdrawn, or None."""
    if transfer.state != states.WITHDRAWN or transfer.direction != OUTGOING:
        return None
    if which == "offer":
        return "withdrawn before the offer was sent"
    if which == "notice" and _offer_still_queued(session, transfer):
        return "the offer was never sent"
    return None


def _offer_still_queued(session: Session, transfer: Transfer) -> bool:
    """Return whether this transfer's offer waits in the outbox, never yet handed to a worker.

    Once handed over it may have reached the other school (a worker can die between the post
    and marking its row), so the notice then goes: a school that never got the offer refuses
    it, which changes nothing.
    """
    rows = session.scalars(
        select(OutboxMessage.args).where(
            OutboxMessage.transfer_id == transfer.id,
            OutboxMessage.task == names.SEND_MESSAGE,
            OutboxMessage.ran_at.is_(None),
            OutboxMessage.dispatched_at.is_(None),
        )
    )
    return any(list(args)[1:2] == ["offer"] for args in rows)


def inline_sender(instance: Instance, transport: Transport) -> Sender:
    """Return a sender that runs each task at once in this process, through `transport`.

    The demo and the tests use it; the service queues the same rows on Celery instead.
    """

    def send(task: str, args: list, outbox_id: int) -> None:
        if task == names.REDACT_VAULT:
            from exchange.transfers.vault_task import redact_vault

            redact_vault(instance, args[0], outbox_id)
            return
        if task == names.CREATE_BATCH:
            from exchange.transfers.batch_task import run_batch

            run_batch(instance, args[0], outbox_id, send=send)
            return
        with transaction(instance.sessions) as session:
            if already_ran(session, outbox_id):
                return
            # A message's send locks its transfer, as the worker's does (see send_message).
            locked = task == names.SEND_MESSAGE
            transfer = session.get(Transfer, args[0], with_for_update=locked)
            assert transfer is not None
            if task == names.SEND_MESSAGE:
                send_message(session, transfer, args[1], transport)
            elif task == names.DELIVER:
                deliver(session, instance, transfer, transport)
            elif task == names.COUNTERSIGN:
                send_countersignature(session, instance, transfer, transport)
            elif task == names.NOTIFY:
                send_for(session, instance, transfer, args[1])
            else:
                raise ValueError(f"no inline runner for task {task}")
            mark_ran(session, outbox_id)
            pending = written_in(session)
        dispatch(instance.sessions, send, pending)

    return send
