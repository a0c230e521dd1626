"""The scheduled purge task and its beat entry (daily at PURGE_TIME, Europe/London)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.schedules import crontab

from exchange.errors import ConfigError
from exchange.logs import get_logger
from exchange.tasks import names

log = get_logger(__name__)
PURGE_TASK = names.PURGE
DEFAULT_PURGE_TIME = "02:30"
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def purge_schedule(config: dict[str, Any]) -> crontab | timedelta:
    """Return when beat fires the purge: every PURGE_SCHEDULE_SECONDS (tests), else daily."""
    seconds = config.get("PURGE_SCHEDULE_SECONDS")
    if seconds not in (None, ""):
        try:
            return timedelta(seconds=int(seconds))
        except (TypeError, ValueError) as exc:
            raise ConfigError("setting PURGE_SCHEDULE_SECONDS must be a whole number") from exc
    value = str(config.get("PURGE_TIME") or DEFAULT_PURGE_TIME).strip()
    match = _TIME.fullmatch(value)
    if match is None:
        raise ConfigError(
            f"setting PURGE_TIME must be HH:MM (24-hour, Europe/London), not {value!r}"
        )
    # The Celery app's timezone is Europe/London, so the crontab follows British Summer Time.
    return crontab(hour=int(match.group(1)), minute=int(match.group(2)))


def purge_beat_entry(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the beat_schedule entry that runs the purge."""
    return {"retention-purge": {"task": PURGE_TASK, "schedule": purge_schedule(config)}}


@shared_task(name=PURGE_TASK, acks_late=True, ignore_result=False)
def purge(school_id: int | None = None) -> dict[str, Any]:
    """Purge what is due today for one school id (or all); return counts only."""
    from exchange.retention.notify import send_change_notices
    from exchange.retention.purge import purge_all_schools, purge_school, rotate_wrapping_key
    from exchange.tasks.worker import worker_instance

    instance = worker_instance()
    deps = (instance.sessions, instance.blobs, instance.instance_key)
    options = {
        "volume_guard_percent": instance.config["PURGE_VOLUME_GUARD_PERCENT"],
        "config": instance.config,
    }
    # A notice not emailed when the change was made (no mail server then) is retried daily.
    send_change_notices(instance.sessions, instance.config)
    if school_id is None:
        results = purge_all_schools(*deps, **options)
    else:
        results = [purge_school(*deps, int(school_id), **options)]
    # Once every school is done: survivors' keys to a new epoch, the old epoch destroyed.
    rotate_wrapping_key(instance.sessions, instance.instance_key)
    return {
        str(result.school_id): {
            "as_of": result.as_of.isoformat(),
            "runs": result.run_ids,
            "certificates": result.certificate_ids,
            "totals": result.totals,
            "stopped": result.stopped,
        }
        for result in results
    }
