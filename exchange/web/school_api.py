"""The school-to-school API: signed messages in, bundles in, receipts and checkpoints out."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.service import latest_checkpoint
from exchange.db import lock_for_writing
from exchange.errors import NotFound, ValidationError
from exchange.instance import Instance
from exchange.outbox.service import forget_pending, written_in
from exchange.records.models import School
from exchange.transfers import incoming, partner_messages
from exchange.transfers.messages import (
    BUNDLE_UPLOAD,
    COUNTERSIGNATURE,
    FETCH,
    KEY_ROTATION,
    NOTICE,
    OFFER,
    OFFER_RESPONSE,
    MessageRefused,
    verify_message,
)
from exchange.transfers.models import INCOMING
from exchange.transfers.receive import receive_bundle
from exchange.vault.workdirs import process_work_dir
from exchange.web.setup import send_outbox

school_api = Blueprint("school_api", __name__, url_prefix="/s2s/v1/schools/<urn>")

MAX_MESSAGE_BYTES = 64 * 1024
DIGEST_HEADER = re.compile(r"^sha-256=:([A-Za-z0-9+/]{43}=):$")
TRANSFER_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _instance() -> Instance:
    return current_app.extensions["exchange"]


@contextmanager
def _school_session(urn: str) -> Iterator[tuple[Session, School]]:
    """Open the request's one transaction for a school hosted here; commit, then send effects."""
    with _instance().sessions() as session:
        if request.method != "GET":
            lock_for_writing(session)  # Concurrent uploads and messages wait their turn.
        school = session.scalar(select(School).where(School.urn == urn))
        if school is None:
            raise NotFound("no such school on this service")
        try:
            yield session, school
            session.commit()
        except BaseException:
            session.rollback()
            forget_pending(session)
            raise
        pending = written_in(session)
    send_outbox(pending)


def _message_body() -> str:
    if request.content_length is None or request.content_length > MAX_MESSAGE_BYTES:
        raise ValidationError("a message must have a length and be at most 64 KiB")
    if request.mimetype != "application/jose":
        raise ValidationError("send messages as application/jose (a compact JWS)")
    return request.get_data(as_text=True)


def _handle(urn: str, typ: str, action: Callable[[Session, School, Any], Any]) -> Any:
    token = _message_body()
    with _school_session(urn) as (session, school):
        message = verify_message(session, school, token, typ)
        return action(session, school, message)


@school_api.post("/offers")
def post_offer(urn: str) -> Any:
    """Receive an offer of a child's file."""

    def action(session: Session, school: School, message: Any) -> Any:
        transfer = partner_messages.offer_received(session, _instance(), school, message)
        return jsonify({"status": "received", "transfer_id": transfer.transfer_uid}), 202

    return _handle(urn, OFFER, action)


@school_api.post("/offer-responses")
def post_offer_response(urn: str) -> Any:
    """Receive the other school's acceptance or rejection of our offer."""

    def action(session: Session, school: School, message: Any) -> Any:
        transfer = partner_messages.offer_answered(session, _instance(), school, message)
        return jsonify({"status": transfer.state, "transfer_id": transfer.transfer_uid}), 200

    return _handle(urn, OFFER_RESPONSE, action)


@school_api.post("/notices")
def post_notice(urn: str) -> Any:
    """Receive a signed withdrawal, recall or destruction notice (protocol 1.1)."""

    def action(session: Session, school: School, message: Any) -> Any:
        transfer = partner_messages.notice_received(session, _instance(), school, message)
        return jsonify({"status": transfer.state, "transfer_id": transfer.transfer_uid}), 200

    return _handle(urn, NOTICE, action)


@school_api.put("/transfers/<transfer_id>/bundle")
def put_bundle(urn: str, transfer_id: str) -> Any:
    """Receive a bundle; answer with the signed receipt (the same one for the same bytes)."""
    if not TRANSFER_ID.match(transfer_id):
        raise NotFound("no such transfer")
    if not DIGEST_HEADER.match(request.headers.get("Content-Digest", "")):
        raise ValidationError("send a Content-Digest header: sha-256=:<base64>:")
    token = request.headers.get("Exchange-Message", "")
    instance = _instance()
    limit = instance.config["MAX_BUNDLE_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise ValidationError(f"the bundle is larger than this service accepts ({limit} bytes)")
    work = process_work_dir(instance.home)
    with tempfile.TemporaryDirectory(prefix="sgx-upload-", dir=work) as folder:
        body = Path(folder) / "bundle.age"
        _save_body(body, limit)
        with _school_session(urn) as (session, school):
            upload = verify_message(session, school, token, BUNDLE_UPLOAD)
            received = receive_bundle(session, instance, school, transfer_id, body, upload)
    return jsonify({"receipt": received.receipt_jws, "disposition": received.disposition}), 200


def _save_body(path: Path, limit: int) -> None:
    """Stream the request body to a private file, counting bytes against the limit."""
    size = 0
    with path.open("wb") as handle:
        while chunk := request.stream.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise ValidationError("the bundle is larger than this service accepts")
            handle.write(chunk)
    if size == 0:
        raise ValidationError("the upload is empty")


@school_api.get("/transfers/<transfer_id>/receipt")
def get_receipt(urn: str, transfer_id: str) -> Any:
    """Return the signed receipt of a transfer to the school that sent it."""
    token = request.headers.get("Exchange-Message", "")
    with _school_session(urn) as (session, school):
        message = verify_message(session, school, token, FETCH)
        if message.payload.get("transfer_id") != transfer_id:
            raise MessageRefused("the request is signed for another transfer")
        transfer = incoming.find_transfer(session, school.id, transfer_id, INCOMING)
        if (
            transfer is None
            or transfer.partner_id != message.partner.id
            or not transfer.receipt_jws
        ):
            raise NotFound("no receipt for this transfer")
        receipt = transfer.receipt_jws
    return jsonify({"receipt": receipt}), 200


@school_api.post("/transfers/<transfer_id>/countersignature")
def post_countersignature(urn: str, transfer_id: str) -> Any:
    """Receive the sender's countersignature of our receipt."""

    def action(session: Session, school: School, message: Any) -> Any:
        if message.payload.get("transfer_id") != transfer_id:
            raise MessageRefused("the countersignature is for another transfer")
        transfer = partner_messages.countersignature_received(session, _instance(), school, message)
        return jsonify({"status": transfer.state}), 200

    return _handle(urn, COUNTERSIGNATURE, action)


@school_api.post("/key-rotations")
def post_key_rotation(urn: str) -> Any:
    """Receive a partner's new keys, announced and signed with its previous key."""
    from exchange.partners.rotation import apply_rotation

    def action(session: Session, school: School, message: Any) -> Any:
        changed = apply_rotation(session, message)
        from exchange.audit.service import record_event

        record_event(
            session,
            school.id,
            None,
            "system",
            "partner.keys_rotated",
            "partner",
            message.partner.urn,
            details={"keys": len(changed)},
        )
        return jsonify({"status": "keys updated", "keys": len(changed)}), 200

    return _handle(urn, KEY_ROTATION, action)


@school_api.get("/checkpoint")
def get_checkpoint(urn: str) -> Any:
    """Return the school's latest signed audit checkpoint (no personal data in it)."""
    with _school_session(urn) as (session, school):
        checkpoint = latest_checkpoint(session, school.id)
        if checkpoint is None:
            raise NotFound("no checkpoint yet")
        token = checkpoint.jws
    return jsonify({"checkpoint": token}), 200
