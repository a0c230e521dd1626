"""A worker app with the retention task and its beat entry, as the lead will wire them in.

Until `exchange.tasks.celery_app` includes them, the beat test starts the worker with
`-A tests.retention.beat_app`; afterwards this module changes nothing.
"""

from __future__ import annotations

from celery import Celery

import exchange.tasks.worker  # noqa: F401  (the worker's signals and worker_instance)
from exchange.config import load_config
from exchange.retention.tasks import purge_beat_entry
from exchange.tasks.celery_app import make_celery

_config = load_config()
celery_app: Celery = make_celery(_config)
celery_app.conf.beat_schedule = {**celery_app.conf.beat_schedule, **purge_beat_entry(_config)}
celery_app.conf.include = sorted({*celery_app.conf.include, "exchange.retention.tasks"})
