"""The work of each outbox task, shared by the Celery worker and the in-process runner."""

from __future__ import annotations

from sqlalchemy.orm import Session

from exchange.db import transaction
from exchange.instance import Instance
from exchange.logs import get_logger
from exchange.outbox.service import Sender, already_ran, dispatch, mark_ran, written_in
from exchange.tasks import names
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.client import DeliveryError, Transport
from exchange.transfers.delivery import deliver, partner_url, send_countersignature
from exchange.transfers.models import Transfer
from exchange.transfers.notify import send_for
from exchange.transfers.steps import audit

log = get_logger(__name__)
MESSAGE_FIELDS = {"offer": "offer_jws", "response": "response_jws", "notice": "notice_jws"}
MESSAGE_PATHS = {"offer": "offers", "response": "offer-responses", "notice": "notices"}


def send_message(session: Session, transfer: Transfer, which: str, transport: Transport) -> None:
    """Send a stored offer or offer response to the other school; raise DeliveryError to retry."""
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
            transfer = session.get(Transfer, args[0])
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
