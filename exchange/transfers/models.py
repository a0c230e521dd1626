"""A transfer, what it carries, the messages it exchanged and the replay guard."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.partners.models import Partner
from exchange.records.models import Pupil, SchoolScoped
from exchange.transfers.offered_name import offer_names_child
from exchange.types import UTCDateTime
from exchange.vault.sealed_type import Sealed

OUTGOING = "outgoing"
INCOMING = "incoming"


class Transfer(SchoolScoped, Base):
    """One school's side of one transfer; the other school holds its own row, same id."""

    __tablename__ = "transfers"
    __table_args__ = (
        UniqueConstraint("school_id", "transfer_uid"),
        CheckConstraint("direction in ('outgoing', 'incoming')", name="known_direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_uid: Mapped[str] = mapped_column(String(36))
    direction: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(30), index=True)
    route: Mapped[str] = mapped_column(String(10), default="online")
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    pupil_id: Mapped[int | None] = mapped_column(ForeignKey("pupils.id"), index=True)
    pupil_upn: Mapped[str] = mapped_column(String(13))
    pupil_dob: Mapped[date | None] = mapped_column(Date)
    leaving_date: Mapped[date | None] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date, index=True)
    flagged_child: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # The signed offer: in clear, or sealed when it names the child (protocol 1.3); read and
    # write it through `offer_jws`, which picks the column.
    offer_jws_clear: Mapped[str | None] = mapped_column("offer_jws", Text)
    offer_jws_sealed: Mapped[str | None] = mapped_column(Sealed())
    offer_sha256: Mapped[str | None] = mapped_column(String(64))
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_jws: Mapped[str | None] = mapped_column(Text)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    on_roll_confirmed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    conversation_held_on: Mapped[date | None] = mapped_column(Date)
    conversation_participants: Mapped[str | None] = mapped_column(Sealed())
    conversation_summary: Mapped[str | None] = mapped_column(Sealed())
    conversation_recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    authorised_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    authorised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    bundle_storage_key: Mapped[str | None] = mapped_column(String(100))
    bundle_sha256: Mapped[str | None] = mapped_column(String(64))
    bundle_size: Mapped[int | None] = mapped_column(BigInteger)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    file_count: Mapped[int | None] = mapped_column(Integer)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_delivery_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    receipt_jws: Mapped[str | None] = mapped_column(Text)
    countersignature_jws: Mapped[str | None] = mapped_column(Text)
    receipt_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_disposition: Mapped[str | None] = mapped_column(String(20))

    pseudonyms: Mapped[dict[str, str] | None] = mapped_column(JSON)
    offline_code_hash: Mapped[str | None] = mapped_column(String(200))
    offline_confirmed_by: Mapped[str | None] = mapped_column(String(200))
    # Our latest signed notice to the partner (withdrawal, recall, destruction) and theirs.
    notice_jws: Mapped[str | None] = mapped_column(Text)
    partner_notice_jws: Mapped[str | None] = mapped_column(Text)
    # The transfer this one re-offers after a rejection or expiry (its transfer_uid).
    follows_uid: Mapped[str | None] = mapped_column(String(36))
    follows_answer: Mapped[str | None] = mapped_column(Text)
    # Vault documents being redacted by a task: set while it runs, with its progress.
    vault_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    vault_total: Mapped[int | None] = mapped_column(Integer)
    vault_done: Mapped[int | None] = mapped_column(Integer)
    # The incidents (with their actions) that task redacts first, and how many it has done.
    incidents_total: Mapped[int | None] = mapped_column(Integer)
    incidents_done: Mapped[int | None] = mapped_column(Integer)
    # The batch this transfer was made or offered in (September in bulk), if any.
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("transfer_batches.id"), index=True)
    # Offline route: the transfer form the receiving school signed and sent back (encrypted
    # with the pupil's key in the blob store), when that is how receipt was confirmed.
    signed_form_storage_key: Mapped[str | None] = mapped_column(String(100))
    signed_form_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_form_media_type: Mapped[str | None] = mapped_column(String(100))
    # Protocol 1.3: the child's name an incoming offer carries ({"given", "family"}), sealed;
    # cleared when the offer is rejected, expires or is withdrawn, and once the file arrives.
    offered_name: Mapped[dict[str, str] | None] = mapped_column(Sealed("json"))

    partner: Mapped[Partner] = relationship()
    pupil: Mapped[Pupil | None] = relationship()
    items: Mapped[list[TransferItem]] = relationship(back_populates="transfer")

    @property
    def offer_jws(self) -> str | None:
        """Return the signed offer, wherever it is kept."""
        return self.offer_jws_sealed or self.offer_jws_clear

    @offer_jws.setter
    def offer_jws(self, token: str | None) -> None:
        """Keep a signed offer sealed if it names the child, else in clear."""
        named = token is not None and offer_names_child(token)
        self.offer_jws_clear = None if named else token
        self.offer_jws_sealed = token if named else None


class TransferBatch(SchoolScoped, Base):
    """Transfers made together (from a CTF or a list of leavers), or offered together to us."""

    __tablename__ = "transfer_batches"
    __table_args__ = (
        UniqueConstraint("school_id", "batch_uid"),
        CheckConstraint("direction in ('outgoing', 'incoming')", name="known_direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_uid: Mapped[str] = mapped_column(String(36))
    direction: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))  # "ctf", "list", or "offers" (incoming)
    # The sending school of an incoming batch; an outgoing batch may go to several schools.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Each child's problem, {"child": UPN or row, "problem": words, "transfer_id": id or None}.
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The children a task starts, ids only: [{"pupil": id, "partner": id, "done": bool}].
    plan: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    offer: Mapped[bool | None] = mapped_column(Boolean, default=True)
    # Set while a task is to run the plan; each run (or retry) sets a new time.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped: Mapped[str | None] = mapped_column(String(500))  # Why the run stopped, to retry.

    partner: Mapped[Partner | None] = relationship()


class TransferItem(SchoolScoped, Base):
    """A record the departing DSL included or dropped, with the reason when it differs."""

    __tablename__ = "transfer_items"
    __table_args__ = (
        UniqueConstraint("transfer_id", "kind", "object_id"),
        CheckConstraint("kind in ('incident', 'document')", name="known_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    object_id: Mapped[int] = mapped_column(Integer)
    included: Mapped[bool] = mapped_column(Boolean)
    by_policy: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    # What was sent, fingerprinted at authorisation: a follow-up sends only what changed.
    sent_sha256: Mapped[str | None] = mapped_column(String(64))

    transfer: Mapped[Transfer] = relationship(back_populates="items")


class TransferStep(SchoolScoped, Base):
    """One transition of a transfer: from which state to which, by whom, when."""

    __tablename__ = "transfer_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(500))


class SeenMessage(SchoolScoped, Base):
    """A message id already accepted from a partner: a second arrival is a replay."""

    __tablename__ = "seen_messages"
    __table_args__ = (UniqueConstraint("school_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64))
    sender_urn: Mapped[str] = mapped_column(String(6))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RedactedText(SchoolScoped, Base):
    """The redacted form of one text that travels: an incident, an action or the summary."""

    __tablename__ = "redacted_texts"
    __table_args__ = (UniqueConstraint("transfer_id", "kind", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Sealed(), nullable=True)
    # SHA-256 (hex) of the text it was made from, to see a record change after the review.
    source_sha256: Mapped[str | None] = mapped_column(Sealed(), nullable=True)


class RedactionReview(SchoolScoped, Base):
    """The redaction report of one document or text, and the DSL's decision on its flags."""

    __tablename__ = "redaction_reviews"
    __table_args__ = (
        UniqueConstraint("transfer_id", "kind", "object_id"),
        CheckConstraint(
            "resolution is null or resolution in ('confirmed', 'excluded', 'replaced')",
            name="known_resolution",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, object]] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    redacted_storage_key: Mapped[str | None] = mapped_column(String(100))
    redacted_sha256: Mapped[str | None] = mapped_column(String(64))
    redacted_size: Mapped[int | None] = mapped_column(BigInteger)
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def blocks_authorisation(self) -> bool:
        """Return whether this review still stops the transfer being authorised."""
        return self.flagged and self.resolution is None
