"""Rule sets, legal holds, purge runs, the purge lease and disposal certificates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from exchange.db import Base, utcnow
from exchange.records.models import (
    Incident,
    SchoolScoped,
    VaultDocument,
    incident_linked_pupils,
)
from exchange.types import UTCDateTime

HOLD_SCOPES = ("pupil", "incident", "category")
RUN_RUNNING = "running"
RUN_FINISHED = "finished"

# Indexes the purge needs on the records' tables (migration 0012). It finds due records by
# school and date: with only single-column indexes SQLite walked every record of the school.
# And deleting a pupil or an incident makes SQLite check each foreign key to it: without an
# index on the referring column, that is a scan of the whole referring table per row deleted.
DUE_INCIDENTS_INDEX = Index(
    "ix_incidents_school_id_retain_until", Incident.school_id, Incident.retain_until
)
DUE_DOCUMENTS_INDEX = Index(
    "ix_vault_documents_school_id_retain_until",
    VaultDocument.school_id,
    VaultDocument.retain_until,
)
LINKED_PUPILS_INDEX = Index("ix_incident_linked_pupils_pupil_id", incident_linked_pupils.c.pupil_id)
DOCUMENTS_BY_INCIDENT_INDEX = Index("ix_vault_documents_incident_id", VaultDocument.incident_id)


class RetentionRuleSet(SchoolScoped, Base):
    """One version of a school's retention rules; a change adds a version, never edits one."""

    __tablename__ = "retention_rule_sets"
    __table_args__ = (UniqueConstraint("school_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict[str, object]] = mapped_column(JSON)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LegalHold(SchoolScoped, Base):
    """A hold on a pupil, an incident or a category subtree: nothing it covers is purged.

    Targets are plain ids (no foreign keys) so a released hold outlives what it covered.
    """

    __tablename__ = "legal_holds"
    __table_args__ = (
        CheckConstraint("scope in ('pupil', 'incident', 'category')", name="known_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    pupil_id: Mapped[int | None] = mapped_column(Integer)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    category_path: Mapped[str | None] = mapped_column(String(420))
    reason: Mapped[str] = mapped_column(Text)
    placed_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    release_reason: Mapped[str | None] = mapped_column(Text)


class PurgeRun(SchoolScoped, Base):
    """One purge of one school: counts grow batch by batch, committed with each batch."""

    __tablename__ = "purge_runs"
    __table_args__ = (CheckConstraint("state in ('running', 'finished')", name="known_state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default=RUN_RUNNING, index=True)
    rule_set_version: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PurgeLease(Base):
    """A named lease with an expiry: whoever holds it unexpired is the only purger."""

    __tablename__ = "purge_leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DisposalCertificate(SchoolScoped, Base):
    """The signed record of what one purge run destroyed; kept after the data is gone."""

    __tablename__ = "disposal_certificates"
    __table_args__ = (UniqueConstraint("run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("purge_runs.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    key_id: Mapped[str] = mapped_column(String(64))
    jws: Mapped[str] = mapped_column(Text)
    payload_sha256: Mapped[str] = mapped_column(String(64))


CHANGE_PENDING = "pending"
CHANGE_APPLIED = "applied"
CHANGE_CANCELLED = "cancelled"
REVIEW_DECISIONS = ("destroy", "hold")


class RetentionRuleChange(SchoolScoped, Base):
    """A rule change that makes records due earlier: it waits out the notice period first."""

    __tablename__ = "retention_rule_changes"
    __table_args__ = (
        CheckConstraint("state in ('pending', 'applied', 'cancelled')", name="known_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    change: Mapped[dict[str, object]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), default=CHANGE_PENDING, index=True)
    effective_on: Mapped[date] = mapped_column(Date)
    notice: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    proposed_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    applied_version: Mapped[int | None] = mapped_column(Integer)


class DisposalReview(SchoolScoped, Base):
    """A DPO's decision on one pupil's due records: destroy these ids, or hold them instead.

    The pupil is a plain id (no foreign key): the review outlives the pupil it approved.
    """

    __tablename__ = "disposal_reviews"
    __table_args__ = (CheckConstraint("decision in ('destroy', 'hold')", name="known_decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(Integer, index=True)
    pupil_ref: Mapped[str] = mapped_column(String(80))
    decision: Mapped[str] = mapped_column(String(10))
    window_until: Mapped[date] = mapped_column(Date)
    record_ids: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    hold_id: Mapped[int | None] = mapped_column(Integer)
    decided_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
