"""The sender's delivery: upload the exact bytes, check the receipt, countersign, close."""

from __future__ import annotations

import base64

from sqlalchemy.orm import Session

from exchange import jws
from exchange.audit.service import make_checkpoint
from exchange.db import utcnow
from exchange.errors import ExchangeError
from exchange.instance import Instance
from exchange.packaging.keys import load_signing_key
from exchange.partners.service import trusted_signing_keys
from exchange.receipts.receipt import Receipt, ReceiptMismatch, check_against_sent, sha256_text
from exchange.records.models import School
from exchange.retention.assign import recompute_pupil
from exchange.transfers import states
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.bundle_step import outbox_path
from exchange.transfers.client import DeliveryError, Transport
from exchange.transfers.messages import (
    BUNDLE_UPLOAD,
    COUNTERSIGNATURE,
    MESSAGE_MAX_AGE,
    RECEIPT,
    sign_message,
)
from exchange.transfers.models import Transfer
from exchange.transfers.steps import audit, move

API_PREFIX = "/s2s/v1/schools"


def partner_url(transfer: Transfer, *parts: str) -> str:
    """Return the URL of a school-to-school endpoint at the partner's service."""
    base = (transfer.partner.service_url or "").rstrip("/")
    return "/".join([base + API_PREFIX, transfer.partner.urn, *parts])


def deliver(session: Session, instance: Instance, transfer: Transfer, transport: Transport) -> str:
    """Upload the bundle and handle the receipt; raise DeliveryError to be retried."""
    if transfer.state != states.AUTHORISED:
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
        transfer.last_delivery_error = f"refused ({reply.status}): {reply.body.get('message', '')}"[
            :500
        ]
        move(session, transfer, states.FAILED, SYSTEM_ACTOR, note=transfer.last_delivery_error)
        return transfer.state
    transfer.delivered_at = utcnow()
    move(session, transfer, states.DELIVERED, SYSTEM_ACTOR)
    accept_receipt(session, instance, school, transfer, str(reply.body["receipt"]))
    return transfer.state


def accept_receipt(
    session: Session, instance: Instance, school: School, transfer: Transfer, token: str
) -> None:
    """Verify a receipt against what we stored before sending, then countersign it."""
    try:
        keys = trusted_signing_keys(session, transfer.partner, include_retired=True)
        payload = jws.verify(token, keys, RECEIPT)
        if payload.get("aud") != school.urn or payload.get("iss") != transfer.partner.urn:
            raise ReceiptMismatch("the receipt is not from the receiving school to us")
        receipt = Receipt.from_payload(payload)
        if receipt.transfer_id != transfer.transfer_uid:
            raise ReceiptMismatch("the receipt is for another transfer")
        if receipt.disposition == "complete":
            check_against_sent(
                receipt,
                transfer_id=transfer.transfer_uid,
                offer_sha256=transfer.offer_sha256 or "",
                ciphertext_sha256=transfer.bundle_sha256 or "",
                manifest_sha256=transfer.manifest_sha256 or "",
                file_count=transfer.file_count or 0,
            )
    except ExchangeError as error:
        transfer.last_delivery_error = f"receipt not accepted: {error.message}"[:500]
        move(session, transfer, states.FAILED, SYSTEM_ACTOR, note=transfer.last_delivery_error)
        return
    transfer.receipt_jws = token
    transfer.receipt_disposition = receipt.disposition
    if receipt.disposition != "complete":
        reason = f"the receiving school refused the bundle: {receipt.reason}"
        transfer.last_delivery_error = reason[:500]
        move(session, transfer, states.FAILED, SYSTEM_ACTOR, note=transfer.last_delivery_error)
        return
    transfer.receipt_verified_at = utcnow()
    recompute_pupil(session, school.id, transfer.pupil_id)
    key = load_signing_key(session, school.id, instance.instance_key)
    audit(
        session, transfer, SYSTEM_ACTOR, "receipt.verified", {"receipt_sha256": sha256_text(token)}
    )
    checkpoint = make_checkpoint(session, school.id, key)
    transfer.countersignature_jws = sign_message(
        {
            "transfer_id": transfer.transfer_uid,
            "receipt_sha256": sha256_text(token),
            "receipt": token,
            "verified": True,
            "checkpoint": checkpoint.jws,
        },
        key,
        COUNTERSIGNATURE,
        school.urn,
        transfer.partner.urn,
    )
    move(
        session,
        transfer,
        states.RECEIPTED,
        SYSTEM_ACTOR,
        details={"receipt_sha256": sha256_text(token)},
    )


def send_countersignature(
    session: Session, instance: Instance, transfer: Transfer, transport: Transport
) -> str:
    """Give the receiving school our countersignature; close the transfer when it has it."""
    if transfer.state != states.RECEIPTED or not transfer.countersignature_jws:
        return transfer.state
    token = transfer.countersignature_jws
    issued = jws.unverified_payload(token).get("iat", 0)
    if utcnow().timestamp() - issued > MESSAGE_MAX_AGE - 60:
        token = _refresh(session, instance, transfer)
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
    move(session, transfer, states.CLOSED, SYSTEM_ACTOR)
    # Both schools hold the receipts now; the ciphertext we kept for retries can go.
    outbox_path(instance, transfer).unlink(missing_ok=True)
    return transfer.state


def _refresh(session: Session, instance: Instance, transfer: Transfer) -> str:
    """Sign a fresh countersignature when the stored one is too old to be accepted."""
    school = session.get(School, transfer.school_id)
    payload = jws.unverified_payload(transfer.countersignature_jws or "")
    body = {
        k: payload[k]
        for k in ("transfer_id", "receipt_sha256", "receipt", "verified", "checkpoint")
    }
    key = load_signing_key(session, school.id, instance.instance_key)
    transfer.countersignature_jws = sign_message(
        body, key, COUNTERSIGNATURE, school.urn, transfer.partner.urn
    )
    return transfer.countersignature_jws
