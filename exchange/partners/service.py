"""Enrol partner schools, confirm their keys by phone, and find the keys to trust."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.auth.permissions import roles_for
from exchange.db import utcnow
from exchange.errors import NotFound, ValidationError
from exchange.packaging.keys import (
    KIND_ENCRYPTION,
    KIND_SIGNING,
    EncryptionPublicKey,
    SigningPublicKey,
    current_key,
    public_key_of,
)
from exchange.partners.card import SchoolCard, normalise_safety_number, safety_number
from exchange.partners.models import Partner, PartnerKey
from exchange.records.models import School, User

CONFIRMING_ROLES = roles_for("confirm_partners")  # From the one permission table.


def own_card(session: Session, school: School, service_url: str | None) -> SchoolCard:
    """Return this school's card with its current keys."""
    signing = current_key(session, school.id, KIND_SIGNING)
    encryption = current_key(session, school.id, KIND_ENCRYPTION)
    if signing is None or encryption is None:
        raise ValidationError("this school has no keys yet: run `exchange keys generate`")
    return SchoolCard(
        urn=school.urn,
        laestab=school.laestab,
        name=school.name,
        service_url=service_url,
        signing=public_key_of(signing),  # type: ignore[arg-type]
        encryption=public_key_of(encryption),  # type: ignore[arg-type]
    )


def find_partner(session: Session, school_id: int, urn: str) -> Partner:
    """Return the partner with this URN in the school's directory, or raise NotFound."""
    partner = session.scalar(
        select(Partner).where(Partner.school_id == school_id, Partner.urn == urn)
    )
    if partner is None:
        raise NotFound(f"school {urn} is not in this school's partner directory")
    return partner


def enrol_partner(session: Session, school_id: int, card: SchoolCard) -> Partner:
    """Add a partner from its card, or add the card's keys to a known one, unconfirmed."""
    own = session.get(School, school_id)
    if own is not None and own.urn == card.urn:
        raise ValidationError("a school cannot enrol itself as its own partner")
    partner = session.scalar(
        select(Partner).where(Partner.school_id == school_id, Partner.urn == card.urn)
    )
    if partner is None:
        partner = Partner(school_id=school_id, urn=card.urn, laestab=card.laestab, name=card.name)
        session.add(partner)
    elif partner.laestab != card.laestab:
        raise ValidationError(f"school {card.urn} is already enrolled with another LAESTAB")
    partner.service_url = card.service_url
    partner.name = card.name
    session.flush()
    for kind, public in ((KIND_SIGNING, card.signing), (KIND_ENCRYPTION, card.encryption)):
        _add_key(session, partner, kind, public.raw, public.key_id)
    session.flush()
    record_event(
        session,
        school_id,
        None,
        "operator",
        "partner.enrolled",
        "partner",
        partner.urn,
        details={"signing_key": card.signing.key_id, "encryption_key": card.encryption.key_id},
    )
    return partner


def _add_key(session: Session, partner: Partner, kind: str, raw: bytes, key_id: str) -> PartnerKey:
    existing = session.scalar(
        select(PartnerKey).where(PartnerKey.partner_id == partner.id, PartnerKey.key_id == key_id)
    )
    if existing is not None:
        return existing
    key = PartnerKey(
        school_id=partner.school_id, partner_id=partner.id, kind=kind, key_id=key_id, public_key=raw
    )
    session.add(key)
    return key


def pending_safety_number(session: Session, partner: Partner) -> str:
    """Return the safety number of the partner's newest keys, to read over the phone."""
    signing, encryption = (
        _newest(session, partner, KIND_SIGNING),
        _newest(session, partner, KIND_ENCRYPTION),
    )
    return safety_number(
        SigningPublicKey(signing.public_key), EncryptionPublicKey(encryption.public_key)
    )


def confirm_partner(
    session: Session, partner: Partner, read_out: str, user: User
) -> tuple[PartnerKey, PartnerKey]:
    """Confirm the partner's newest keys when the safety number read by phone matches."""
    if user.role not in CONFIRMING_ROLES or user.school_id != partner.school_id:
        raise ValidationError("only a DSL or deputy DSL of this school can confirm a partner")
    expected = pending_safety_number(session, partner)
    if normalise_safety_number(read_out) != expected:
        raise ValidationError("the safety number does not match: the keys were NOT confirmed")
    now = utcnow()
    keys = (_newest(session, partner, KIND_SIGNING), _newest(session, partner, KIND_ENCRYPTION))
    for kind in (KIND_SIGNING, KIND_ENCRYPTION):
        for older in _keys(session, partner, kind):
            if older not in keys and older.retired_at is None:
                older.retired_at = now
    for key in keys:
        key.confirmed_at = now
        key.confirmed_by_user_id = user.id
        key.confirmed_by_name = user.name
        key.retired_at = None
    session.flush()
    record_event(
        session,
        partner.school_id,
        user.id,
        user.role,
        "partner.confirmed",
        "partner",
        partner.urn,
        details={"signing_key": keys[0].key_id, "encryption_key": keys[1].key_id},
    )
    return keys


def trusted_signing_keys(
    session: Session, partner: Partner, *, include_retired: bool = False
) -> dict[str, SigningPublicKey]:
    """Return the partner's confirmed signing keys by key id (retired ones only if asked)."""
    return {
        key.key_id: SigningPublicKey(key.public_key)
        for key in _keys(session, partner, KIND_SIGNING)
        if key.confirmed and (include_retired or key.retired_at is None)
    }


def trusted_encryption_key(session: Session, partner: Partner) -> EncryptionPublicKey:
    """Return the partner's current confirmed encryption key, or refuse to send."""
    for key in reversed(_keys(session, partner, KIND_ENCRYPTION)):
        if key.confirmed and key.retired_at is None:
            return EncryptionPublicKey(key.public_key)
    raise ValidationError(
        f"school {partner.urn}'s keys are not confirmed: a DSL must confirm its safety number"
    )


def is_confirmed(session: Session, partner: Partner) -> bool:
    """Return whether the partner has a confirmed, current signing and encryption key."""
    return bool(trusted_signing_keys(session, partner)) and any(
        key.confirmed and key.retired_at is None for key in _keys(session, partner, KIND_ENCRYPTION)
    )


def _keys(session: Session, partner: Partner, kind: str) -> list[PartnerKey]:
    return list(
        session.scalars(
            select(PartnerKey)
            .where(PartnerKey.partner_id == partner.id, PartnerKey.kind == kind)
            .order_by(PartnerKey.added_at, PartnerKey.id)
        )
    )


def _newest(session: Session, partner: Partner, kind: str) -> PartnerKey:
    keys = _keys(session, partner, kind)
    if not keys:
        raise ValidationError(f"school {partner.urn} has no {kind} key in the directory")
    return keys[-1]
