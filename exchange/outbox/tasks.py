"""The beat's sweep: send what a process that died after its commit left in the outbox."""

from __future__ import annotations

from celery import shared_task
from celery.app.task import Task

from exchange.outbox.service import celery_sender, dispatch
from exchange.tasks import names


@shared_task(name=names.DISPATCH_OUTBOX, bind=True, acks_late=True)
def dispatch_orphans(self: Task) -> int:
    """Send every outbox row left unsent for more than a short while; return how many."""
    from exchange.tasks.worker import worker_instance

    return dispatch(worker_instance().sessions, celery_sender(self.app))
