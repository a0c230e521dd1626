"""The Celery application, configured from the instance settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab

from exchange.retention.tasks import purge_beat_entry
from exchange.tasks import names

TASK_MODULES = [
    "exchange.tasks.heartbeat",
    "exchange.transfers.tasks",
    "exchange.audit.tasks",
    "exchange.retention.tasks",
    "exchange.outbox.tasks",
    "exchange.subject_access.tasks",
]
OUTBOX_SWEEP = timedelta(seconds=60)


def make_celery(config: dict[str, Any]) -> Celery:
    """Return a Celery app for the instance: JSON only, late acks, one task at a time."""
    app = Celery("exchange", broker=config["BROKER_URL"], backend=config["RESULT_BACKEND"])
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        result_expires=timedelta(days=1),
        timezone="Europe/London",
        enable_utc=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        task_default_queue=config["TASK_QUEUE"],
        beat_schedule_filename=str(config["HOME"] / "celerybeat-schedule"),
        beat_schedule={
            "heartbeat": {
                "task": names.HEARTBEAT,
                "schedule": timedelta(seconds=config["HEARTBEAT_SECONDS"]),
            },
            "audit-checkpoints": {
                "task": names.CHECKPOINT_ALL,
                "schedule": timedelta(seconds=config["CHECKPOINT_SECONDS"]),
            },
            "transfers-resume": {
                "task": names.TRANSFERS_RESUME,
                "schedule": timedelta(minutes=10),
            },
            "transfers-daily": {
                "task": names.TRANSFERS_DAILY,
                "schedule": crontab(hour=config["CHASE_HOUR"], minute=0),
            },
            "outbox-sweep": {"task": names.DISPATCH_OUTBOX, "schedule": OUTBOX_SWEEP},
            "subject-access-reminders": {
                "task": names.SAR_REMIND,
                "schedule": crontab(hour=config["CHASE_HOUR"], minute=5),
            },
            **purge_beat_entry(config),
        },
        include=TASK_MODULES,
    )
    if config["BROKER_URL"].startswith(("redis://", "rediss://")):
        # A task lost with a killed worker comes back after this long (the longest task must fit).
        app.conf.broker_transport_options = {"visibility_timeout": 1800}
    return app
