"""The sender's delivery: upload the exact bytes, check the receipt, countersign, close.

Every state change goes through the workflow as one of the service's own actions.
"""

from __future__ import annotations

import base64

from sqlalchemy.orm import Session

from exchange import jws
from exchange.db import utcnow
from exchange.errors import ExchangeError
from exchange.instance import Instance
from exchange.packaging.keys import load_signing_key
from exchange.receipts.receipt import sha256_text
from exchange.receipts.signing import countersign, refresh_countersignature, verify_receipt
from exchange.records.models import School
from exchange.retention.assign import recompute_pupil
from exchange.transfers import states, workflow
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.bundle_step import outbox_path
from exchange.transfers.client import DeliveryError, Transport
from exchange.transfers.messages import BUNDLE_UPLOAD, MESSAGE_MAX_AGE, sign_message
from exchange.transfers.models import Transfer
from exchange.transfers.steps import audit

API_PREFIX = "/s2s/v1/schools"


def partner_url(transfer: Transfer, *parts: str) -> str:
    """Return the URL of a school-to-school endpoint at the partner's service."""
    base = (transfer.partner.service_url or "").rstrip("/")
    return "/".join([base + API_PREFIX, transfer.partner.urn, *parts])


def deliver(session: Session, instance: Instance, transfer: Transfer, transport: Transport) -> str:
    """Upload the bundle and handle the receipt; raise DeliveryError to be retried."""
    if not workflow.allowed(session, instance, transfer, "delivered", SYSTEM_ACTOR):
        return transfer.state
    school = session.get(School, transfer.school_id)
    key = load_signing_key(session, school.id, instance.instance_key)
    path = outbox_path(instance, transfer)
    upload = sign_message(
        {
            "transfer_id": transfer.transfer_uid,
            "ciphertext_sha256": transfer.bundle_sha256,
            "size": transfer.bundle_size,
        },
        key,
        BUNDLE_UPLOAD,
        school.urn,
        transfer.partner.urn,
    )
    digest = base64.b64encode(bytes.fromhex(transfer.bundle_sha256 or "")).decode()
    url = partner_url(transfer, "transfers", transfer.transfer_uid, "bundle")
    # Nothing is written before the call: a school on this same SQLite instance must be able
    # to write while we wait for its answer.
    try:
        reply = transport.put_file(
            url, path, {"Content-Digest": f"sha-256=:{digest}:", "Exchange-Message": upload}
        )
    finally:
        transfer.delivery_attempts += 1
    if reply.status >= 500 or reply.status in (408, 429):
        raise DeliveryError(f"the receiving service answered {reply.status}")
    if reply.status != 200 or "receipt" not in reply.body:
        fail(
            session,
            instance,
            transfer,
            f"refused ({reply.status}): {reply.body.get('message', '')}",
        )
        return transfer.state
    workflow.apply(session, instance, transfer, "delivered", SYSTEM_ACTOR)
    accept_receipt(session, instance, school, transfer, str(reply.body["receipt"]))
    return transfer.state


def fail(session: Session, instance: Instance, transfer: Transfer, reason: str) -> None:
    """Record why delivery failed and move the transfer to failed (the DSL is told)."""
    transfer.last_delivery_error = reason[:500]
    workflow.apply(session, instance, transfer, "delivery_failed", SYSTEM_ACTOR, note=reason)


def accept_receipt(
    session: Session, instance: Instance, school: School, transfer: Transfer, token: str
) -> None:
    """Verify a receipt against what we stored before sending, then countersign it."""
    try:
        receipt = verify_receipt(session, school, transfer, token)
    except ExchangeError as error:
        fail(session, instance, transfer, f"receipt not accepted: {error.message}")
        return
    transfer.receipt_jws = token
    transfer.receipt_disposition = receipt.disposition
    if receipt.disposition != "complete":
        fail(
            session,
            instance,
            transfer,
            f"the receiving school refused the bundle: {receipt.reason}",
        )
        return
    recompute_pupil(session, school.id, transfer.pupil_id)
    audit(
        session, transfer, SYSTEM_ACTOR, "receipt.verified", {"receipt_sha256": sha256_text(token)}
    )
    countersign(session, instance, school, transfer, token)
    workflow.apply(session, instance, transfer, "receipt_verified", SYSTEM_ACTOR)


def send_countersignature(
    session: Session, instance: Instance, transfer: Transfer, transport: Transport
) -> str:
    """Give the receiving school our countersignature; close the transfer when it has it."""
    if transfer.state != states.RECEIPTED or not transfer.countersignature_jws:
        return transfer.state
    school = session.get(School, transfer.school_id)
    token = transfer.countersignature_jws
    issued = jws.unverified_payload(token).get("iat", 0)
    if utcnow().timestamp() - issued > MESSAGE_MAX_AGE - 60:
        token = refresh_countersignature(session, instance, school, transfer)
    reply = transport.post(
        partner_url(transfer, "transfers", transfer.transfer_uid, "countersignature"), token
    )
    if reply.status >= 500:
        raise DeliveryError(f"the receiving service answered {reply.status}")
    if reply.status != 200:
        audit(
            session,
            transfer,
            SYSTEM_ACTOR,
            "transfer.countersignature_refused",
            {"status": reply.status},
        )
        return transfer.state
    workflow.apply(session, instance, transfer, "close", SYSTEM_ACTOR)
    # Both schools hold the receipts now; the ciphertext we kept for retries can go.
    outbox_path(instance, transfer).unlink(missing_ok=True)
    return transfer.state
