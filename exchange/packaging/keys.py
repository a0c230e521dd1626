"""School keys: an Ed25519 signing key, an age X25519 encryption key, and their storage."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import pyrage
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.errors import ValidationError
from exchange.packaging import _bech32
from exchange.packaging.models import KIND_ENCRYPTION, KIND_SIGNING, KINDS, SchoolKey

AGE_PUBLIC_HRP = "age"
AGE_SECRET_HRP = "age-secret-key-"  # noqa: S105 - a bech32 prefix, not a secret
_WRAP_CONTEXT = b"sgx school key v1"


def key_id(raw_public_key: bytes) -> str:
    """Return the key id: lower-case hex SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(raw_public_key).hexdigest()


def phone_fingerprint(fingerprint: str) -> str:
    """Return a key id as 16 groups of 4 upper-case hex digits, to read over the phone."""
    digits = fingerprint.upper()
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


@dataclass(frozen=True)
class SigningPublicKey:
    """A school's Ed25519 public key."""

    raw: bytes

    @property
    def key_id(self) -> str:
        """Return the SHA-256 fingerprint of the raw public key."""
        return key_id(self.raw)

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningPublicKey:
        """Load an Ed25519 public key from SubjectPublicKeyInfo PEM."""
        try:
            loaded = serialization.load_pem_public_key(pem)
        except ValueError as exc:
            raise ValidationError("not a PEM public key") from exc
        except UnsupportedAlgorithm as exc:  # A key type OpenSSL does not know (a bad OID).
            raise ValidationError("the PEM public key is not an Ed25519 key") from exc
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValidationError("the PEM public key is not an Ed25519 key")
        return cls(loaded.public_bytes_raw())

    def to_pem(self) -> bytes:
        """Return the key as SubjectPublicKeyInfo PEM."""
        return self._key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Return whether signature is this key's Ed25519 signature over data."""
        try:
            self._key().verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def _key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.raw)


class SigningKey:
    """A school's Ed25519 private signing key; never printed."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = SigningPublicKey(private.public_key().public_bytes_raw())

    @classmethod
    def generate(cls) -> SigningKey:
        """Return a fresh random signing key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, raw: bytes) -> SigningKey:
        """Load a signing key from its 32-byte seed."""
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        """Load an unencrypted PKCS#8 PEM Ed25519 private key."""
        loaded = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValidationError("the PEM private key is not an Ed25519 key")
        return cls(loaded)

    @property
    def key_id(self) -> str:
        """Return the key id of the public half."""
        return self.public.key_id

    def sign(self, data: bytes) -> bytes:
        """Return the Ed25519 signature over data."""
        return self._private.sign(data)

    def private_raw(self) -> bytes:
        """Return the 32-byte seed, for wrapping only."""
        return self._private.private_bytes_raw()

    def private_pem(self) -> bytes:
        """Return the key as unencrypted PKCS#8 PEM, for test vectors only."""
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id[:16]}…)"


@dataclass(frozen=True)
class EncryptionPublicKey:
    """A school's age X25519 recipient."""

    raw: bytes

    @property
    def key_id(self) -> str:
        """Return the SHA-256 fingerprint of the raw public key."""
        return key_id(self.raw)

    @property
    def recipient(self) -> str:
        """Return the age recipient string, age1…."""
        return _bech32.encode(AGE_PUBLIC_HRP, self.raw)

    @classmethod
    def from_recipient(cls, recipient: str) -> EncryptionPublicKey:
        """Parse an age1… recipient string."""
        try:
            raw = _bech32.decode(recipient.strip(), AGE_PUBLIC_HRP)
        except ValueError as exc:
            raise ValidationError(f"not an age X25519 recipient: {exc}") from exc
        if len(raw) != 32:
            raise ValidationError("an age X25519 recipient holds 32 bytes")
        return cls(raw)

    def to_pyrage(self) -> pyrage.x25519.Recipient:
        """Return the recipient for pyrage."""
        return pyrage.x25519.Recipient.from_str(self.recipient)


class EncryptionKey:
    """A school's age X25519 identity; never printed."""

    def __init__(self, private_raw: bytes) -> None:
        private = X25519PrivateKey.from_private_bytes(private_raw)
        self._raw = private_raw
        self.public = EncryptionPublicKey(private.public_key().public_bytes_raw())

    @classmethod
    def generate(cls) -> EncryptionKey:
        """Return a fresh random identity."""
        return cls(X25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_identity(cls, text: str) -> EncryptionKey:
        """Parse an AGE-SECRET-KEY-1… identity string."""
        try:
            raw = _bech32.decode(text.strip(), AGE_SECRET_HRP)
        except ValueError as exc:
            raise ValidationError(f"not an age X25519 identity: {exc}") from exc
        if len(raw) != 32:
            raise ValidationError("an age X25519 identity holds 32 bytes")
        return cls(raw)

    @classmethod
    def from_identity_file(cls, text: str) -> list[EncryptionKey]:
        """Parse an age identity file: one identity a line, # comments allowed."""
        lines = [line.strip() for line in text.splitlines()]
        keys = [cls.from_identity(line) for line in lines if line and not line.startswith("#")]
        if not keys:
            raise ValidationError("the identity file holds no age identity")
        return keys

    @property
    def key_id(self) -> str:
        """Return the key id of the public half."""
        return self.public.key_id

    def private_raw(self) -> bytes:
        """Return the 32-byte private scalar, for wrapping only."""
        return self._raw

    def identity_string(self) -> str:
        """Return the AGE-SECRET-KEY-1… string, for identity files only."""
        return _bech32.encode(AGE_SECRET_HRP, self._raw).upper()

    def to_pyrage(self) -> pyrage.x25519.Identity:
        """Return the identity for pyrage."""
        return pyrage.x25519.Identity.from_str(self.identity_string())

    def __repr__(self) -> str:
        return f"EncryptionKey(key_id={self.key_id[:16]}…)"


def public_key_of(row: SchoolKey) -> SigningPublicKey | EncryptionPublicKey:
    """Return the public key held in a stored row."""
    if row.kind == KIND_SIGNING:
        return SigningPublicKey(row.public_key)
    return EncryptionPublicKey(row.public_key)


def _wrap_context(school_id: int, kind: str, fingerprint: str) -> bytes:
    return b"|".join((_WRAP_CONTEXT, str(school_id).encode(), kind.encode(), fingerprint.encode()))


def _new_row(school_id: int, kind: str, instance_key: bytes) -> SchoolKey:
    from exchange.vault.crypto import wrap_key

    material = SigningKey.generate() if kind == KIND_SIGNING else EncryptionKey.generate()
    fingerprint = material.key_id
    return SchoolKey(
        school_id=school_id,
        kind=kind,
        key_id=fingerprint,
        public_key=material.public.raw,
        private_key_wrapped=wrap_key(
            instance_key, material.private_raw(), _wrap_context(school_id, kind, fingerprint)
        ),
        created_at=utcnow(),
    )


def current_key(session: Session, school_id: int, kind: str) -> SchoolKey | None:
    """Return the school's current (unretired) key of a kind, if any."""
    return session.scalars(
        select(SchoolKey).where(
            SchoolKey.school_id == school_id, SchoolKey.kind == kind, SchoolKey.retired_at.is_(None)
        )
    ).one_or_none()


def all_public_keys(session: Session, school_id: int, kind: str | None = None) -> list[SchoolKey]:
    """Return every key of the school, current and retired, oldest first."""
    query = select(SchoolKey).where(SchoolKey.school_id == school_id)
    if kind is not None:
        query = query.where(SchoolKey.kind == kind)
    return list(session.scalars(query.order_by(SchoolKey.created_at, SchoolKey.id)))


def generate_keys(session: Session, school_id: int, instance_key: bytes) -> list[SchoolKey]:
    """Create the school's first signing and encryption keys."""
    if any(current_key(session, school_id, kind) for kind in KINDS):
        raise ValidationError("this school already has keys: rotate them instead")
    rows = [_new_row(school_id, kind, instance_key) for kind in KINDS]
    session.add_all(rows)
    session.flush()
    _audit_keys(session, school_id, "keys.generated", rows)
    return rows


def rotate_keys(
    session: Session, school_id: int, instance_key: bytes, kinds: Sequence[str] = KINDS
) -> list[SchoolKey]:
    """Retire the current keys of the given kinds and create new ones; old public keys stay."""
    now = utcnow()
    rows = []
    for kind in kinds:
        if kind not in KINDS:
            raise ValidationError(f"unknown key kind {kind!r}")
        old = current_key(session, school_id, kind)
        if old is not None:
            old.retired_at = now
            session.flush()
        rows.append(_new_row(school_id, kind, instance_key))
    session.add_all(rows)
    session.flush()
    _audit_keys(session, school_id, "keys.rotated", rows)
    return rows


def _audit_keys(session: Session, school_id: int, event: str, rows: list[SchoolKey]) -> None:
    from exchange.audit.service import record_event

    for row in rows:
        record_event(
            session,
            school_id,
            None,
            "operator",
            event,
            "school_key",
            row.key_id,
            details={"kind": row.kind},
        )


def _unwrap(row: SchoolKey, instance_key: bytes) -> bytes:
    from exchange.vault.crypto import unwrap_key

    return unwrap_key(
        instance_key, row.private_key_wrapped, _wrap_context(row.school_id, row.kind, row.key_id)
    )


def load_signing_key(session: Session, school_id: int, instance_key: bytes) -> SigningKey:
    """Return the school's current signing key, unwrapped."""
    row = current_key(session, school_id, KIND_SIGNING)
    if row is None:
        raise ValidationError("this school has no signing key: run `exchange keys generate`")
    return SigningKey.from_raw(_unwrap(row, instance_key))


def load_encryption_keys(
    session: Session, school_id: int, instance_key: bytes
) -> list[EncryptionKey]:
    """Return every encryption identity of the school, newest first, so old bundles open."""
    rows = all_public_keys(session, school_id, KIND_ENCRYPTION)
    return [EncryptionKey(_unwrap(row, instance_key)) for row in reversed(rows)]


def load_signing_key_by_id(
    session: Session, school_id: int, fingerprint: str, instance_key: bytes
) -> SigningKey:
    """Return one of the school's signing keys, current or retired, by its key id."""
    row = session.scalars(
        select(SchoolKey).where(
            SchoolKey.school_id == school_id,
            SchoolKey.kind == KIND_SIGNING,
            SchoolKey.key_id == fingerprint,
        )
    ).one_or_none()
    if row is None:
        raise ValidationError("this school has no signing key with that id")
    return SigningKey.from_raw(_unwrap(row, instance_key))
