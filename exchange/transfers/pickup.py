"""The download page of an offline package: a link emailed to a receiving DSL without the service.

The link carries the transfer id and an HMAC of it and of the exported zip's SHA-256, under a
per-school secret derived from the instance key. Nothing secret is stored: the link is made
again when the email is sent, dies when the package is exported again (new zip, new hash),
after `OFFLINE_PICKUP_DAYS`, and once the transfer has left the "exported" state. The zip is
AES-256 encrypted; its passphrase still goes by phone, never with the link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.transfers import states
from exchange.transfers.models import Transfer, TransferStep

_INFO = b"sgx offline pickup link v1|school:"
PATH = "/pickup/"
PICKUP_EVENT = "offline_pickup"


def _secret(instance_key: bytes, school_id: int) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + str(school_id).encode()
    ).derive(instance_key)


def _mac(instance_key: bytes, transfer: Transfer) -> str:
    message = f"{transfer.transfer_uid}|{transfer.bundle_sha256}".encode()
    digest = hmac.new(_secret(instance_key, transfer.school_id), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_for(instance_key: bytes, transfer: Transfer) -> str:
    """Return the token of the transfer's download page (its id, a dot, the HMAC)."""
    if not transfer.bundle_sha256:
        raise ValueError("the package has not been exported")
    return f"{transfer.transfer_uid}.{_mac(instance_key, transfer)}"


def link_for(config: dict[str, Any], instance_key: bytes, transfer: Transfer) -> str:
    """Return the address of the transfer's download page."""
    return f"{config['PUBLIC_URL'].rstrip('/')}{PATH}{token_for(instance_key, transfer)}"


def exported_at(session: Session, transfer: Transfer) -> datetime | None:
    """Return when the package was last exported."""
    return session.scalar(
        select(TransferStep.at)
        .where(TransferStep.transfer_id == transfer.id, TransferStep.to_state == states.EXPORTED)
        .order_by(TransferStep.at.desc())
        .limit(1)
    )


def expires_at(session: Session, config: dict[str, Any], transfer: Transfer) -> datetime | None:
    """Return when the download page stops working (None if it was never exported)."""
    exported = exported_at(session, transfer)
    if exported is None:
        return None
    return exported + timedelta(days=int(config["OFFLINE_PICKUP_DAYS"]))


def find(
    session: Session, instance_key: bytes, config: dict[str, Any], token: str
) -> Transfer | None:
    """Return the exported offline transfer a valid, unexpired token names, else None."""
    uid, _, mac = token.partition(".")
    if not uid or not mac or len(token) > 200:
        return None
    for transfer in session.scalars(
        select(Transfer).where(
            Transfer.transfer_uid == uid,
            Transfer.route == "offline",
            Transfer.direction == "outgoing",
            Transfer.bundle_sha256.is_not(None),
        )
    ):
        if not hmac.compare_digest(_mac(instance_key, transfer), mac):
            continue
        if transfer.state != states.EXPORTED:
            return None
        ends = expires_at(session, config, transfer)
        return transfer if ends is not None and utcnow() < ends else None
    return None


def email_link(
    session: Session, instance_key: bytes, config: dict[str, Any], transfer: Transfer
) -> int:
    """Email the download page's link to the receiving DSL named for the destination, if any."""
    from exchange.auth.mail import send_mail
    from exchange.records.models import School

    address = transfer.partner.contact_email
    if not address or transfer.state != states.EXPORTED:
        return 0
    school = session.get(School, transfer.school_id)
    assert school is not None
    ends = expires_at(session, config, transfer)
    body = (
        f"{school.name} has sent {transfer.partner.name} a safeguarding file for a pupil"
        " joining you.\n\n"
        "Download it from this page, and confirm there that you have it:\n\n"
        f"  {link_for(config, instance_key, transfer)}\n\n"
        f"The link works until {ends:%d %B %Y} and only once you have the passphrase:"
        f" {school.name}'s safeguarding lead will read it to you by phone. The file is"
        " encrypted (AES-256); it opens in 7-Zip and most archive tools.\n\n"
        f"Reference: {transfer.transfer_uid}\n\n"
        "This email deliberately holds no information about the child.\n"
    )
    return send_mail(config, [address], SUBJECT, body)


SUBJECT = "A safeguarding file is ready for you to download"
