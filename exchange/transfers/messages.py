"""Signed messages between schools: envelope, freshness, addressee and replay checks.

Every message is a compact JWS (see exchange.jws) whose payload carries, besides its body:
v (1), id (random, 32 hex), iat (Unix seconds), iss (sender URN) and aud (recipient URN).
Verification steps, as numbered in docs/protocol.md:
  1. parse the JWS and read iss without trusting it;
  2. find iss in our partner directory (unknown school: refused);
  3. verify the signature with the partner's confirmed, current signing keys only;
  4. check aud is our URN (a message for another school: refused);
  5. check iat is no older than MESSAGE_MAX_AGE and not in the future beyond the skew;
  6. record id as seen; an id seen before is a replay (refused).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exchange import jws
from exchange.errors import ExchangeError
from exchange.packaging.keys import SigningKey
from exchange.partners.models import Partner
from exchange.partners.service import trusted_signing_keys
from exchange.records.models import School
from exchange.transfers.models import SeenMessage

MESSAGE_VERSION = 1
MESSAGE_MAX_AGE = 600
CLOCK_SKEW = 120
ENVELOPE_KEYS = ("v", "id", "iat", "iss", "aud")

OFFER = "sgx-offer+jws"
OFFER_RESPONSE = "sgx-offer-response+jws"
BUNDLE_UPLOAD = "sgx-bundle-upload+jws"
RECEIPT = "sgx-receipt+jws"
COUNTERSIGNATURE = "sgx-countersignature+jws"
FETCH = "sgx-fetch+jws"
KEY_ROTATION = "sgx-key-rotation+jws"
NOTICE = "sgx-notice+jws"  # Protocol 1.1: withdrawal, recall and destruction.


class MessageRefused(ExchangeError):
    """A message from another school that is not accepted, and why."""

    code = "message_refused"
    status_code = 403


class ReplayedMessage(MessageRefused):
    """A message whose id was already accepted."""

    code = "replayed_message"
    status_code = 409


@dataclass(frozen=True)
class Message:
    """A verified message: who sent it, and its payload."""

    partner: Partner
    payload: dict[str, Any]
    token: str


def sign_message(
    body: dict[str, Any],
    key: SigningKey,
    typ: str,
    sender: str,
    to: str,
    *,
    message_id: str | None = None,
    issued_at: int | None = None,
) -> str:
    """Return a signed message from one school's URN to another's (id and time for vectors)."""
    envelope = {
        "v": MESSAGE_VERSION,
        "id": message_id or secrets.token_hex(16),
        "iat": int(time.time()) if issued_at is None else issued_at,
        "iss": sender,
        "aud": to,
    }
    overlap = set(envelope) & set(body)
    if overlap:
        raise ValueError(f"message body must not set {sorted(overlap)}")
    return jws.sign({**body, **envelope}, key, typ)


def verify_message(
    session: Session, school: School, token: str, typ: str, *, now: float | None = None
) -> Message:
    """Check a message as the numbered steps say and return it; raise MessageRefused."""
    try:
        claimed = jws.unverified_payload(token)  # Step 1.
    except jws.InvalidSignature as exc:
        raise MessageRefused(f"step 1: {exc.message}") from exc
    issuer = claimed.get("iss")
    partner = session.scalar(
        select(Partner).where(Partner.school_id == school.id, Partner.urn == str(issuer))
    )
    if partner is None:  # Step 2.
        raise MessageRefused("step 2: the sending school is not in our partner directory")
    keys = trusted_signing_keys(session, partner)
    if not keys:
        raise MessageRefused("step 3: the sending school's keys have not been confirmed")
    try:
        payload = jws.verify(token, keys, typ)  # Step 3.
    except jws.InvalidSignature as exc:
        raise MessageRefused(f"step 3: {exc.message}") from exc
    if payload.get("v") != MESSAGE_VERSION:
        raise MessageRefused(f"step 3: message version {payload.get('v')!r} is not supported")
    if payload.get("aud") != school.urn:  # Step 4.
        raise MessageRefused("step 4: the message is addressed to another school")
    issued = payload.get("iat")
    now = time.time() if now is None else now
    if not isinstance(issued, int) or issued < now - MESSAGE_MAX_AGE:  # Step 5.
        raise MessageRefused("step 5: the message is too old")
    if issued > now + CLOCK_SKEW:
        raise MessageRefused("step 5: the message is dated in the future")
    _remember(session, school, payload, partner)  # Step 6.
    return Message(partner, payload, token)


def _remember(session: Session, school: School, payload: dict[str, Any], partner: Partner) -> None:
    message_id = payload.get("id")
    if not isinstance(message_id, str) or not 16 <= len(message_id) <= 64:
        raise MessageRefused("step 6: the message has no valid id")
    try:
        with session.begin_nested():
            session.add(
                SeenMessage(school_id=school.id, message_id=message_id, sender_urn=partner.urn)
            )
    except IntegrityError as exc:
        raise ReplayedMessage("step 6: this message was already received (replay)") from exc
