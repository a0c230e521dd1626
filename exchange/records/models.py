"""Schools, users, staff, pupils, incidents, actions, edits and vault documents."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.types import UTCDateTime
from exchange.vault.sealed_type import Sealed

ROLES = ("dsl", "deputy_dsl", "dpo", "admin")
INCIDENT_STATUSES = ("open", "closed")


class SchoolScoped:
    """Mixin for every row that belongs to exactly one school."""

    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)


class School(Base):
    """A school hosted on this instance."""

    __tablename__ = "schools"
    __table_args__ = (
        CheckConstraint("length(urn) = 6", name="urn_six_digits"),
        CheckConstraint("length(laestab) = 7", name="laestab_seven_digits"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    urn: Mapped[str] = mapped_column(String(6), unique=True)
    laestab: Mapped[str] = mapped_column(String(7), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class User(SchoolScoped, Base):
    """A person who signs in to the service for one school, in one role."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("school_id", "email"),
        CheckConstraint("role in ('dsl', 'deputy_dsl', 'dpo', 'admin')", name="known_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StaffMember(SchoolScoped, Base):
    """A member of staff who wrote or acted on records (not necessarily a user)."""

    __tablename__ = "staff_members"
    __table_args__ = (UniqueConstraint("school_id", "source_system", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_system: Mapped[str] = mapped_column(String(100))
    source_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    job_title: Mapped[str | None] = mapped_column(String(200))


class Pupil(SchoolScoped, Base):
    """A child on (or once on) the school's roll."""

    __tablename__ = "pupils"
    __table_args__ = (
        UniqueConstraint("school_id", "upn_index"),
        UniqueConstraint("school_id", "source_system", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_system: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[str | None] = mapped_column(String(100))
    upn: Mapped[str] = mapped_column(Sealed(), nullable=True)
    upn_index: Mapped[str] = mapped_column(String(64))
    forename: Mapped[str] = mapped_column(Sealed(), nullable=True)
    surname: Mapped[str] = mapped_column(Sealed(), nullable=True)
    preferred_name: Mapped[str | None] = mapped_column(Sealed())
    other_names: Mapped[list[str]] = mapped_column(
        Sealed("json"), nullable=True, info={"sealed_default": list}
    )
    date_of_birth: Mapped[date | None] = mapped_column(Sealed("date"))
    year_group: Mapped[str | None] = mapped_column(String(10))
    leaving_date: Mapped[date | None] = mapped_column(Date)
    destination_urn: Mapped[str | None] = mapped_column(String(6))
    destination_laestab: Mapped[str | None] = mapped_column(String(7))
    destination_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    data_key: Mapped[PupilDataKey | None] = relationship(back_populates="pupil")


class PupilDataKey(SchoolScoped, Base):
    """The pupil's data key, wrapped under a wrapping-key epoch; cleared when destroyed."""

    __tablename__ = "pupil_data_keys"

    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), primary_key=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The wrapping-key epoch (exchange.vault.epochs); None: wrapped by the instance key.
    wrapping_epoch: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    pupil: Mapped[Pupil] = relationship(back_populates="data_key")


class Category(SchoolScoped, Base):
    """A node of the school's category tree, with the transfer class it maps to."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("school_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(420))
    transfer_class: Mapped[str | None] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id])


incident_categories = Table(
    "incident_categories",
    Base.metadata,
    Column("incident_id", ForeignKey("incidents.id"), primary_key=True),
    Column("category_id", ForeignKey("categories.id"), primary_key=True),
)

incident_linked_pupils = Table(
    "incident_linked_pupils",
    Base.metadata,
    Column("incident_id", ForeignKey("incidents.id"), primary_key=True),
    Column("pupil_id", ForeignKey("pupils.id"), primary_key=True),
)


class Incident(SchoolScoped, Base):
    """One record about a child: what happened, when, who wrote it and what followed."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("school_id", "source_system", "source_id"),
        CheckConstraint("status in ('open', 'closed')", name="known_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    source_system: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[str | None] = mapped_column(String(100))
    # A record received by transfer: the sending school's own category path, for provenance.
    source_category: Mapped[str | None] = mapped_column(String(300))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    narrative: Mapped[str] = mapped_column(Sealed(), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    agencies: Mapped[list[str]] = mapped_column(JSON, default=list)
    body_map: Mapped[bool] = mapped_column(Boolean, default=False)
    retain_until: Mapped[date | None] = mapped_column(Date, index=True)
    retention_rule: Mapped[str | None] = mapped_column(String(100))

    pupil: Mapped[Pupil] = relationship(foreign_keys=[pupil_id])
    author: Mapped[StaffMember | None] = relationship()
    categories: Mapped[list[Category]] = relationship(secondary=incident_categories)
    linked_pupils: Mapped[list[Pupil]] = relationship(secondary=incident_linked_pupils)
    actions: Mapped[list[IncidentAction]] = relationship(
        back_populates="incident", order_by="IncidentAction.acted_at"
    )
    edits: Mapped[list[IncidentEdit]] = relationship(
        back_populates="incident", order_by="IncidentEdit.edited_at"
    )


class IncidentAction(SchoolScoped, Base):
    """A follow-up on an incident: what was done, by whom, when."""

    __tablename__ = "incident_actions"
    __table_args__ = (UniqueConstraint("incident_id", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    source_id: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Sealed(), nullable=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    acted_at: Mapped[datetime] = mapped_column(UTCDateTime())

    incident: Mapped[Incident] = relationship(back_populates="actions")
    author: Mapped[StaffMember | None] = relationship()


class IncidentEdit(SchoolScoped, Base):
    """A time-stamped change to an incident field, keeping the value it replaced."""

    __tablename__ = "incident_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    field: Mapped[str] = mapped_column(String(40))
    previous_value: Mapped[str | None] = mapped_column(Sealed())
    new_value: Mapped[str | None] = mapped_column(Sealed())
    # The incoming follow-up transfer that merged this change, so that its recall undoes it.
    merged_by_transfer_id: Mapped[int | None] = mapped_column(
        ForeignKey("transfers.id"), index=True
    )

    incident: Mapped[Incident] = relationship(back_populates="edits")


class VaultDocument(SchoolScoped, Base):
    """A document attached to a child, stored encrypted with the child's data key."""

    __tablename__ = "vault_documents"
    __table_args__ = (
        UniqueConstraint("school_id", "source_system", "source_id"),
        UniqueConstraint("storage_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    source_system: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[str | None] = mapped_column(String(100))
    original_filename: Mapped[str] = mapped_column(Sealed(), nullable=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retain_until: Mapped[date | None] = mapped_column(Date, index=True)
    retention_rule: Mapped[str | None] = mapped_column(String(100))

    pupil: Mapped[Pupil] = relationship()


class WorkerHeartbeat(Base):
    """The last time the Celery worker (and its beat) proved it was alive."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
