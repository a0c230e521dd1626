"""The school card: what one school gives another to enrol it as a partner (format v1)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from exchange.errors import ValidationError
from exchange.packaging.keys import EncryptionPublicKey, SigningPublicKey, phone_fingerprint
from exchange.records.schools import validate_laestab, validate_urn
from exchange.safe_json import loads_bounded

CARD_FORMAT = "safeguarding-exchange.school-card"
CARD_VERSION = 1


@dataclass(frozen=True)
class SchoolCard:
    """A school's identity, service address and current public keys."""

    urn: str
    laestab: str
    name: str
    service_url: str | None
    signing: SigningPublicKey
    encryption: EncryptionPublicKey

    def to_json(self) -> dict[str, Any]:
        """Return the card as its JSON document."""
        return {
            "format": CARD_FORMAT,
            "version": CARD_VERSION,
            "urn": self.urn,
            "laestab": self.laestab,
            "name": self.name,
            "service_url": self.service_url,
            "signing_key": {
                "key_id": self.signing.key_id,
                "ed25519": _b64(self.signing.raw),
                "pem": self.signing.to_pem().decode(),
            },
            "encryption_key": {
                "key_id": self.encryption.key_id,
                "age_recipient": self.encryption.recipient,
            },
            "safety_number": safety_number(self.signing, self.encryption),
        }

    @classmethod
    def from_bytes(cls, raw: bytes) -> SchoolCard:
        """Parse a card file: JSON within the size and depth limits, then from_json."""
        try:
            data = loads_bounded(raw)
        except ValidationError:
            raise
        except ValueError as exc:  # Not UTF-8, or not JSON.
            raise ValidationError("a school card file is not JSON") from exc
        return cls.from_json(data)

    @classmethod
    def from_json(cls, data: Any) -> SchoolCard:
        """Parse and check a card; raise ValidationError naming the field at fault."""
        if not isinstance(data, dict):
            raise ValidationError("a school card is a JSON object")
        if data.get("format") != CARD_FORMAT or data.get("version") != CARD_VERSION:
            raise ValidationError(f"not a {CARD_FORMAT} version {CARD_VERSION} document")
        service_url = data.get("service_url")
        if service_url is not None and (
            not isinstance(service_url, str) or not service_url.startswith(("https://", "http://"))
        ):
            raise ValidationError("service_url must be an http(s) URL or null", where="card")
        signing_block = _object(data, "signing_key")
        encryption_block = _object(data, "encryption_key")
        signing = SigningPublicKey(_unb64(signing_block.get("ed25519"), "signing_key.ed25519"))
        encryption = EncryptionPublicKey.from_recipient(
            _string(encryption_block, "age_recipient", "encryption_key")
        )
        if signing_block.get("key_id") != signing.key_id:
            raise ValidationError("signing_key.key_id does not match the key", where="card")
        if encryption_block.get("key_id") != encryption.key_id:
            raise ValidationError("encryption_key.key_id does not match the key", where="card")
        return cls(
            urn=validate_urn(_string(data, "urn", "card")),
            laestab=validate_laestab(_string(data, "laestab", "card")),
            name=_string(data, "name", "card"),
            service_url=service_url.rstrip("/") if service_url else None,
            signing=signing,
            encryption=encryption,
        )


def safety_number(signing: SigningPublicKey, encryption: EncryptionPublicKey) -> str:
    """Return the 128-bit code two DSLs read to each other to confirm both keys at once."""
    digest = hashlib.sha256(
        b"sgx safety number v1|" + signing.raw + b"|" + encryption.raw
    ).hexdigest()
    return phone_fingerprint(digest[:32])


def normalise_safety_number(text: str) -> str:
    """Return a typed safety number in its canonical grouped form."""
    digits = "".join(c for c in text.upper() if c.isalnum())
    if len(digits) != 32 or any(c not in "0123456789ABCDEF" for c in digits):
        raise ValidationError("a safety number is 32 hexadecimal characters (8 groups of 4)")
    return phone_fingerprint(digits.lower())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise ValidationError("must be base64url text", where=where)
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("must be base64url text", where=where) from exc
    if len(raw) != 32:
        raise ValidationError("must hold a 32-byte key", where=where)
    return raw


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ValidationError("is missing or not an object", where=f"card.{key}")
    return value


def _string(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("is missing or empty", where=f"{where}.{key}")
    return value.strip()
