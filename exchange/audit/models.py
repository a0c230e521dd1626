"""Audit tables: the append-only entries, the per-school head, and signed checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from exchange.db import Base, utcnow
from exchange.records.models import SchoolScoped
from exchange.types import UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditHead(Base):
    """One row per school: the lock appenders take, and the current size and root.

    Rows are updated on every append but never deleted (a trigger refuses DELETE).
    """

    __tablename__ = "audit_heads"

    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEntry(SchoolScoped, Base):
    """One audit entry: its canonical bytes verbatim, its leaf hash and the frontier after it.

    The event, object and time columns copy fields of the canonical bytes for queries;
    the canonical bytes are what is hashed and what verification trusts.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("school_id", "seq"),
        Index("ix_audit_entries_object", "school_id", "object_type", "object_id"),
        Index("ix_audit_entries_event", "school_id", "event"),  # Metrics count by event.
        Index("ix_audit_entries_time", "school_id", "recorded_at"),  # The explorer's dates.
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    event: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    canonical: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    frontier: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEntryActor(SchoolScoped, Base):
    """The user an audit entry names as its actor: an index for the DPO's explorer.

    Derived from the entry's canonical bytes when it is appended (and by migration 0025 for
    older entries); the canonical bytes stay what verification and the explorer trust.
    """

    __tablename__ = "audit_entry_actors"
    __table_args__ = (Index("ix_audit_entry_actors_user", "school_id", "user_id", "entry_id"),)

    # No foreign key: an index row must never stop `audit verify` from seeing a deleted entry.
    entry_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger)


class AuditCheckpoint(SchoolScoped, Base):
    """A signed checkpoint of one school's log: the exact compact JWS string."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_size", "school_id", "size"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    key_id: Mapped[str] = mapped_column(String(64))
    jws: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
