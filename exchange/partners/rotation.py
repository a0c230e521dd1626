"""Key rotation announced to partners, signed by the old key, so trust carries over."""

from __future__ import annotations

from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.packaging.keys import load_signing_key_by_id
from exchange.partners.card import SchoolCard
from exchange.partners.models import Partner, PartnerKey
from exchange.partners.service import enrol_partner, own_card
from exchange.records.models import School
from exchange.transfers.messages import KEY_ROTATION, Message, MessageRefused, sign_message

ROTATION_CONFIRMED_BY = "announced, signed by the previous key"


def announcement(
    session: Session, instance: Instance, school: School, old_key_id: str, partner: Partner
) -> str:
    """Return the school's new card, signed with its previous signing key, for one partner."""
    old_key = load_signing_key_by_id(session, school.id, old_key_id, instance.instance_key)
    card = own_card(session, school, instance.config["PUBLIC_URL"])
    if card.signing.key_id == old_key_id:
        raise ValidationError("rotate the keys first: the announced key is still the current one")
    return sign_message({"card": card.to_json()}, old_key, KEY_ROTATION, school.urn, partner.urn)


def apply_rotation(session: Session, message: Message) -> list[PartnerKey]:
    """Trust a partner's new keys because its confirmed current key signed them."""
    partner = message.partner
    try:
        card = SchoolCard.from_json(message.payload.get("card"))
    except ValidationError as error:
        raise MessageRefused(f"the announced card is invalid: {error}") from error
    if (card.urn, card.laestab) != (partner.urn, partner.laestab):
        raise MessageRefused("the announced card is for another school")
    signer = next(k for k in partner.keys if k.key_id == _kid(message.token))
    enrol_partner(session, partner.school_id, card)
    session.refresh(partner, ["keys"])
    now = utcnow()
    new_ids = {card.signing.key_id, card.encryption.key_id}
    changed = []
    for key in partner.keys:
        if key.key_id in new_ids and not key.confirmed:
            key.confirmed_at = now
            key.confirmed_by_name = ROTATION_CONFIRMED_BY
            key.rotation_jws = message.token
            changed.append(key)
        elif key.key_id not in new_ids and key.retired_at is None:
            key.retired_at = now
    if signer.retired_at is None and signer.key_id not in new_ids:
        signer.retired_at = now
    session.flush()
    return changed


def _kid(token: str) -> str:
    from exchange.jws import unverified_header

    return unverified_header(token)["kid"]
