"""A subject access request, the people and records in it, its exemptions and its steps.

Personal details (the requester, reasons, the child's views, redacted text) are sealed with
the child's data key, like the rest of the child's file. The child is referred to by id
without a foreign key: the purge may remove the child's whole file before the request's own
retention ends, and then the sealed details go with the child's key while the register row
(dates, states, decisions) stays until the request's retention ends.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.records.models import SchoolScoped
from exchange.types import UTCDateTime
from exchange.vault.sealed_type import Sealed

RELATIONSHIPS = ("self", "parent", "carer", "representative")
STATES = ("open", "awaiting_approval", "approved", "sent", "closed", "refused")


class SubjectAccessRequest(SchoolScoped, Base):
    """One request for a child's information, from the child or someone acting for them."""

    __tablename__ = "subject_access_requests"
    __table_args__ = (
        UniqueConstraint("school_id", "request_uid"),
        CheckConstraint(
            "state in ('open', 'awaiting_approval', 'approved', 'sent', 'closed', 'refused')",
            name="known_state",
        ),
        CheckConstraint(
            "requester_relationship in ('self', 'parent', 'carer', 'representative')",
            name="known_relationship",
        ),
        CheckConstraint("extension_months between 0 and 2", name="extension_at_most_two"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_uid: Mapped[str] = mapped_column(String(36))
    pupil_id: Mapped[int] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    requester_name: Mapped[str] = mapped_column(Sealed(), nullable=True)
    requester_relationship: Mapped[str] = mapped_column(String(20))
    requester_contact: Mapped[str | None] = mapped_column(Sealed())
    identity_check: Mapped[str | None] = mapped_column(Sealed())
    authority_check: Mapped[str | None] = mapped_column(Sealed())
    linked_to_child: Mapped[bool] = mapped_column(Boolean, default=False)
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    extension_months: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[str | None] = mapped_column(Sealed())
    extension_told_on: Mapped[date | None] = mapped_column(Date)
    child_age_at_receipt: Mapped[int | None] = mapped_column(Integer)
    child_consulted: Mapped[bool | None] = mapped_column(Boolean)
    child_views: Mapped[str | None] = mapped_column(Sealed())
    scope_from: Mapped[date | None] = mapped_column(Date)
    scope_to: Mapped[date | None] = mapped_column(Date)
    scope_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_storage_key: Mapped[str | None] = mapped_column(String(100))
    response_sha256: Mapped[str | None] = mapped_column(String(64))
    response_size: Mapped[int | None] = mapped_column(BigInteger)
    receipt_code_hash: Mapped[str | None] = mapped_column(String(200))
    delivery: Mapped[str | None] = mapped_column(String(10))
    package_sha256: Mapped[str | None] = mapped_column(String(64))
    sent_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(Sealed())
    refusal_reason: Mapped[str | None] = mapped_column(Sealed())
    # What the approver asked the DSL to change; cleared when the response is approved.
    sent_back_note: Mapped[str | None] = mapped_column(Sealed())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retain_until: Mapped[date | None] = mapped_column(Date, index=True)
    last_reminder_on: Mapped[date | None] = mapped_column(Date)
    logged_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    items: Mapped[list[SubjectAccessItem]] = relationship(
        back_populates="request", order_by="SubjectAccessItem.id"
    )
    people: Mapped[list[SubjectAccessPerson]] = relationship(
        back_populates="request", order_by="SubjectAccessPerson.id"
    )
    exemptions: Mapped[list[SubjectAccessExemption]] = relationship(
        back_populates="request", order_by="SubjectAccessExemption.id"
    )


class SubjectAccessPerson(SchoolScoped, Base):
    """Someone named in the file who is removed for this requester, with the DSL's reason."""

    __tablename__ = "subject_access_people"
    __table_args__ = (
        CheckConstraint("role in ('third_party', 'staff_removed')", name="known_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("subject_access_requests.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(Sealed(), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    reason: Mapped[str | None] = mapped_column(Sealed())
    added_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[SubjectAccessRequest] = relationship(back_populates="people")


class SubjectAccessItem(SchoolScoped, Base):
    """One record in the request's scope: included or left out, its redaction and review."""

    __tablename__ = "subject_access_items"
    __table_args__ = (
        UniqueConstraint("request_id", "kind", "object_id"),
        CheckConstraint("kind in ('incident', 'document')", name="known_kind"),
        CheckConstraint(
            "resolution is null or resolution in ('confirmed', 'kept', 'excluded')",
            name="known_resolution",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("subject_access_requests.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    object_id: Mapped[int] = mapped_column(Integer)
    included: Mapped[bool] = mapped_column(Boolean)
    in_scope: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Sealed())
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    category: Mapped[str] = mapped_column(String(420), default="")
    provenance: Mapped[str] = mapped_column(String(300), default="")
    redacted: Mapped[dict[str, object] | None] = mapped_column(Sealed("json"))
    report: Mapped[dict[str, object] | None] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolution_note: Mapped[str | None] = mapped_column(Sealed())
    resolved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    redacted_storage_key: Mapped[str | None] = mapped_column(String(100))
    redacted_sha256: Mapped[str | None] = mapped_column(String(64))
    redacted_size: Mapped[int | None] = mapped_column(BigInteger)

    request: Mapped[SubjectAccessRequest] = relationship(back_populates="items")

    @property
    def blocks_approval(self) -> bool:
        """Return whether this item's redaction flag still waits for the DSL's review."""
        return self.included and self.flagged and self.resolution is None


class SubjectAccessExemption(SchoolScoped, Base):
    """An item, or a passage of it, withheld under a named exemption, with the reason."""

    __tablename__ = "subject_access_exemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("subject_access_requests.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("subject_access_items.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(Integer)
    exemption: Mapped[str] = mapped_column(String(40))
    passage: Mapped[str | None] = mapped_column(Sealed())
    reason: Mapped[str] = mapped_column(Sealed(), nullable=True)
    consulted: Mapped[str | None] = mapped_column(Sealed())
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[SubjectAccessRequest] = relationship(back_populates="exemptions")
    item: Mapped[SubjectAccessItem] = relationship()


class SubjectAccessStep(SchoolScoped, Base):
    """One action on a request: what, by whom, when, and the state it left (no personal data)."""

    __tablename__ = "subject_access_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("subject_access_requests.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    user_role: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
