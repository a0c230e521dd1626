"""Export a transfer's evidence pack from the keys this school holds."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange import jws
from exchange.errors import ValidationError
from exchange.packaging.keys import SigningPublicKey
from exchange.packaging.models import SchoolKey
from exchange.partners.models import PartnerKey
from exchange.receipts.evidence import write_pack
from exchange.transfers.models import Transfer


def signing_key_by_id(session: Session, transfer: Transfer, key_id: str) -> SigningPublicKey:
    """Return the public signing key with this id, ours or the partner's, current or retired."""
    own = session.scalar(
        select(SchoolKey).where(
            SchoolKey.school_id == transfer.school_id, SchoolKey.key_id == key_id
        )
    )
    if own is not None:
        return SigningPublicKey(own.public_key)
    theirs = session.scalar(
        select(PartnerKey).where(
            PartnerKey.partner_id == transfer.partner_id, PartnerKey.key_id == key_id
        )
    )
    if theirs is None or not theirs.confirmed:
        raise ValidationError("a key that signed this receipt is not known and confirmed here")
    return SigningPublicKey(theirs.public_key)


def export_pack(session: Session, transfer: Transfer, folder: Path) -> Path:
    """Write the evidence pack of a countersigned (or offline-receipted) transfer into a folder."""
    if transfer.route == "offline":
        return _export_offline(session, transfer, folder)
    if not transfer.receipt_jws or not transfer.countersignature_jws:
        raise ValidationError("this transfer has no countersigned receipt yet")
    receiver_kid = jws.unverified_header(transfer.receipt_jws)["kid"]
    sender_kid = jws.unverified_header(transfer.countersignature_jws)["kid"]
    return write_pack(
        folder,
        transfer.receipt_jws,
        transfer.countersignature_jws,
        signing_key_by_id(session, transfer, receiver_kid),
        signing_key_by_id(session, transfer, sender_kid),
    )


def _export_offline(session: Session, transfer: Transfer, folder: Path) -> Path:
    from exchange.receipts.offline_evidence import write_offline_pack

    if not transfer.receipt_jws:
        raise ValidationError("this offline transfer has no confirmed receipt yet")
    kid = jws.unverified_header(transfer.receipt_jws)["kid"]
    return write_offline_pack(
        folder, transfer.receipt_jws, signing_key_by_id(session, transfer, kid)
    )
