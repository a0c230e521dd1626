"""One effect waiting to be sent to the task queue, or already sent and run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from exchange.db import Base, utcnow
from exchange.records.models import SchoolScoped
from exchange.types import UTCDateTime


class OutboxMessage(SchoolScoped, Base):
    """A task to queue after the transaction that wrote it commits (ids only, nothing personal)."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    args: Mapped[list[Any]] = mapped_column(JSON)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0)
    ran_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
