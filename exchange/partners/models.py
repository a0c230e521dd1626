"""Partner schools and their public keys, as one school's directory holds them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.records.models import SchoolScoped
from exchange.types import UTCDateTime


class Partner(SchoolScoped, Base):
    """Another school that this school sends to or receives from."""

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("school_id", "urn"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A school with an English URN has one; other destinations (exchange.partners.destinations)
    # are named by their own identifier instead.
    urn: Mapped[str | None] = mapped_column(String(6))
    laestab: Mapped[str | None] = mapped_column(String(7))
    name: Mapped[str] = mapped_column(String(200))
    service_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(30), default="partner_school")
    identifier: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    purpose: Mapped[str | None] = mapped_column(String(30))

    keys: Mapped[list[PartnerKey]] = relationship(
        back_populates="partner", order_by="PartnerKey.added_at"
    )

    @property
    def reference(self) -> str:
        """Return how records name this destination: its URN, or its kind and identifier."""
        if self.urn:
            return self.urn
        return f"{self.kind}:{self.identifier}" if self.identifier else self.kind

    @property
    def offline(self) -> bool:
        """Return whether the partner runs no service (the offline route applies)."""
        return not self.service_url


class PartnerKey(SchoolScoped, Base):
    """A partner's public key; usable only once a named DSL confirmed its fingerprint."""

    __tablename__ = "partner_keys"
    __table_args__ = (
        UniqueConstraint("partner_id", "key_id"),
        CheckConstraint("kind in ('signing', 'encryption')", name="known_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    key_id: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by_name: Mapped[str | None] = mapped_column(String(200))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rotation_jws: Mapped[str | None] = mapped_column(Text)

    partner: Mapped[Partner] = relationship(back_populates="keys")

    @property
    def confirmed(self) -> bool:
        """Return whether a DSL confirmed this key's fingerprint."""
        return self.confirmed_at is not None
