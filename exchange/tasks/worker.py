"""The worker's entry point: `celery -A exchange.tasks.worker worker`."""

from __future__ import annotations

from functools import cache

from celery import Celery
from celery.signals import worker_process_init, worker_ready

from exchange.config import load_config
from exchange.instance import Instance, open_instance
from exchange.logs import configure_logging
from exchange.tasks import names
from exchange.tasks.celery_app import make_celery
from exchange.vault.workdirs import sweep_dead_work_dirs

celery_app: Celery = make_celery(load_config())


@cache
def worker_instance() -> Instance:
    """Return this worker process's instance, opened once."""
    instance = open_instance()
    configure_logging(instance.config)
    sweep_dead_work_dirs(instance.home)
    return instance


@worker_process_init.connect
def _fresh_connections(**_kwargs: object) -> None:
    worker_instance.cache_clear()


@worker_ready.connect
def _announce(**_kwargs: object) -> None:
    celery_app.send_task(names.HEARTBEAT)
