"""Who opened a redacted document in the viewer: confirming one needs it opened first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from exchange.db import Base, utcnow
from exchange.records.models import SchoolScoped
from exchange.transfers.models import RedactionReview
from exchange.types import UTCDateTime


class DocumentOpening(SchoolScoped, Base):
    """One user opened one redaction review's pages in the viewer (the first time is kept).

    The row goes with its review: a document redacted again, or replaced, is a new review
    that must be opened again before anyone confirms it.
    """

    __tablename__ = "document_openings"
    __table_args__ = (UniqueConstraint("review_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("redaction_reviews.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def record_opening(session: Session, review: RedactionReview, user_id: int) -> bool:
    """Record that this user opened the review's document; return whether it was the first time."""
    if has_opened(session, review, user_id):
        return False
    session.add(DocumentOpening(school_id=review.school_id, review_id=review.id, user_id=user_id))
    session.flush()
    return True


def has_opened(session: Session, review: RedactionReview, user_id: int | None) -> bool:
    """Return whether this user has opened the review's document in the viewer."""
    if user_id is None:
        return False
    found = session.scalar(
        select(DocumentOpening.id).where(
            DocumentOpening.review_id == review.id, DocumentOpening.user_id == user_id
        )
    )
    return found is not None


def opened_by(session: Session, review_ids: list[int], user_id: int) -> set[int]:
    """Return which of these reviews this user has opened."""
    if not review_ids:
        return set()
    return set(
        session.scalars(
            select(DocumentOpening.review_id).where(
                DocumentOpening.review_id.in_(review_ids), DocumentOpening.user_id == user_id
            )
        )
    )
