"""The heartbeat task: proves that the worker and the beat are running."""

from __future__ import annotations

from celery import shared_task

from exchange.db import transaction, utcnow
from exchange.logs import get_logger
from exchange.records.models import WorkerHeartbeat
from exchange.tasks import names

log = get_logger(__name__)
HEARTBEAT_NAME = "worker"


@shared_task(name=names.HEARTBEAT, acks_late=True, ignore_result=False)
def heartbeat() -> str:
    """Record that a worker ran a task just now; return the time as ISO 8601."""
    from exchange.tasks.worker import worker_instance

    now = utcnow()
    with transaction(worker_instance().sessions) as session:
        row = session.get(WorkerHeartbeat, HEARTBEAT_NAME)
        if row is None:
            session.add(WorkerHeartbeat(name=HEARTBEAT_NAME, seen_at=now))
        else:
            row.seen_at = now
    log.info("heartbeat", extra={"task": names.HEARTBEAT})
    return now.isoformat()
