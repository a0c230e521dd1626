"""Stored school keys: public halves in clear, private halves wrapped by the instance key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from exchange.db import Base, utcnow
from exchange.types import UTCDateTime

KIND_SIGNING = "signing"
KIND_ENCRYPTION = "encryption"
KINDS = (KIND_SIGNING, KIND_ENCRYPTION)


class SchoolKey(Base):
    """One key of a school; retired keys are kept so old signatures still verify."""

    __tablename__ = "school_keys"
    __table_args__ = (
        CheckConstraint("kind in ('signing', 'encryption')", name="known_kind"),
        Index(
            "uq_school_keys_one_current",
            "school_id",
            "kind",
            unique=True,
            sqlite_where=text("retired_at IS NULL"),
            postgresql_where=text("retired_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    private_key_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return (
            f"SchoolKey(school_id={self.school_id}, kind={self.kind}, key_id={self.key_id[:16]}…)"
        )
