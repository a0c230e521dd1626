"""The production entry points, with what the lead has still to wire added if missing.

gunicorn serves `topology_app:create()` and Celery runs `-A topology_app`: the same as
`exchange.web:create_app()` and `exchange.tasks.worker`, plus the /metrics blueprint and the
retention purge task and beat entry until the app factory and the Celery app include them.
Once they do, this module adds nothing.
"""

from __future__ import annotations

from celery import Celery
from flask import Flask

import exchange.tasks.worker as worker
from exchange.config import load_config

celery_app: Celery = worker.celery_app


def _add_purge(app: Celery) -> None:
    """Include the retention purge task and its beat entry when the Celery app lacks them."""
    try:
        from exchange.retention.tasks import PURGE_TASK, purge_beat_entry
    except ImportError:
        return
    schedule = dict(app.conf.beat_schedule)
    if not any(entry["task"] == PURGE_TASK for entry in schedule.values()):
        app.conf.beat_schedule = {**schedule, **purge_beat_entry(load_config())}
    app.conf.include = sorted({*app.conf.include, "exchange.retention.tasks"})


def create() -> Flask:
    """Return the web app with the metrics blueprint registered."""
    from exchange.web import create_app
    from exchange.web.metrics import metrics

    app = create_app()
    if "metrics" not in app.blueprints:
        app.register_blueprint(metrics)
    return app


_add_purge(celery_app)
