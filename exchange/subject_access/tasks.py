"""The daily reminder task: record reminders for requests nearly due or overdue, every school.

The beat runs it each morning at the chase hour (exchange/tasks/celery_app.py).
"""

from __future__ import annotations

from datetime import date

from celery import shared_task
from sqlalchemy import select

from exchange.logs import get_logger
from exchange.tasks import names

log = get_logger(__name__)
REMIND_TASK = names.SAR_REMIND


@shared_task(name=REMIND_TASK, acks_late=True)
def remind_all(today: str | None = None) -> dict[str, int]:
    """Record today's reminders at every school; return counts only (no names, no ids)."""
    from exchange.db import transaction
    from exchange.records.models import School
    from exchange.subject_access.register import remind
    from exchange.tasks.worker import worker_instance

    day = date.fromisoformat(today) if today else date.today()
    counts = {"schools": 0, "reminders": 0}
    with transaction(worker_instance().sessions) as session:
        for school in session.scalars(select(School)):
            counts["schools"] += 1
            counts["reminders"] += len(remind(session, school, day))
    log.info("subject access reminders", extra=counts)
    return counts
