"""Write effects into the outbox, send them after commit, and run each one at most once.

A crash between the commit and the send leaves the row unsent: the next dispatch (after the
next request, or the beat's sweep) sends it. A crash after the send and before the row is
marked sends it again: the task then finds its row already run and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from exchange.db import utcnow
from exchange.logs import get_logger
from exchange.outbox.models import OutboxMessage

log = get_logger(__name__)
PENDING_KEY = "outbox_pending"
# A row older than this and still unsent was left by a process that died after its commit.
ORPHAN_AFTER = timedelta(seconds=30)

# Queue one task: its name, its arguments and the id of its outbox row.
Sender = Callable[[str, list[Any], int], None]


def enqueue(
    session: Session, school_id: int, task: str, args: list[Any], transfer_id: int | None = None
) -> OutboxMessage:
    """Write one effect in the caller's transaction; it is sent only if that commits."""
    row = OutboxMessage(school_id=school_id, task=task, args=list(args), transfer_id=transfer_id)
    session.add(row)
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(row.id)
    return row


def written_in(session: Session) -> list[int]:
    """Return (and forget) the outbox ids this session wrote, to send once it has committed."""
    return session.info.pop(PENDING_KEY, [])


def forget_pending(session: Session) -> None:
    """Forget the ids written by a transaction that was rolled back."""
    session.info.pop(PENDING_KEY, None)


def dispatch(
    factory: sessionmaker[Session],
    send: Sender,
    ids: Iterable[int] | None = None,
    *,
    orphaned_after: timedelta = ORPHAN_AFTER,
) -> int:
    """Send unsent rows (these ids, or every orphan), then mark them sent; return how many."""
    with factory() as session:
        query = select(OutboxMessage).where(OutboxMessage.dispatched_at.is_(None))
        if ids is None:
            query = query.where(OutboxMessage.created_at < utcnow() - orphaned_after)
        else:
            wanted = list(ids)
            if not wanted:
                return 0
            query = query.where(OutboxMessage.id.in_(wanted))
        rows = [(row.id, row.task, list(row.args)) for row in session.scalars(query.order_by("id"))]
    sent = 0
    for row_id, task, args in rows:
        send(task, args, row_id)
        with factory() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(dispatched_at=utcnow(), dispatch_count=OutboxMessage.dispatch_count + 1)
            )
            session.commit()
        sent += 1
    if sent:
        log.info("outbox dispatched", extra={"count": sent})
    return sent


def already_ran(session: Session, outbox_id: int | None) -> bool:
    """Lock this task's row and return whether it already ran (a duplicate send)."""
    if outbox_id is None:
        return False
    row = session.get(OutboxMessage, outbox_id, with_for_update=True)
    return row is not None and row.ran_at is not None


def mark_ran(session: Session, outbox_id: int | None) -> None:
    """Record, in the task's own transaction, that its row has run to the end."""
    if outbox_id is None:
        return
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.ran_at.is_(None))
        .values(ran_at=utcnow())
    )


def celery_sender(app: Any) -> Sender:
    """Return a sender that queues each row's task on a Celery app, with the row's id.

    Each send uses its own broker connection, closed at once: Celery's pooled connections
    stay open until garbage collection (and a Redis result subscription with them), and
    nobody reads an outbox task's result.
    """

    def send(task: str, args: list[Any], outbox_id: int) -> None:
        with app.connection_for_write() as connection:
            app.send_task(
                task,
                args=args,
                kwargs={"outbox_id": outbox_id},
                connection=connection,
                ignore_result=True,
            )

    return send
