"""Fault drill: the worker cannot reach the broker for a while; queued work runs once after.

The shared Redis is never stopped: the worker is started pointing at a port where nothing
listens (as if Redis were down), then restarted with the right address.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import BROKER_URL, on_postgres
from sqlalchemy import func, select
from transfer_kit import school_with_keys

from deploy.topology import Node, free_port, wait_for
from exchange.audit.models import AuditCheckpoint
from exchange.audit.tasks import CHECKPOINT_TASK
from exchange.db import transaction

pytestmark = [pytest.mark.celery, pytest.mark.slow]


@pytest.fixture
def node(new_database: Callable[[], str], tmp_path: Path) -> Iterator[Node]:
    """One school's service on PostgreSQL and Redis, nothing started yet."""
    if not (on_postgres() and BROKER_URL.startswith("redis")):
        pytest.skip("the broker drill needs PostgreSQL and Redis (EXCHANGE_TEST_* settings)")
    config = {
        "HOME": tmp_path / "home",
        "DATABASE_URL": new_database(),
        "BROKER_URL": BROKER_URL,
        "TASK_QUEUE": f"drill-{secrets.token_hex(4)}",
        "INSTANCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
        "CHECKPOINT_SECONDS": 3600,
    }
    made = Node("drill", config, tmp_path / "logs")
    with transaction(made.instance.sessions) as session:
        made.school_id = school_with_keys(session, made.instance, 1, "bretherton").id
    yield made
    made.stop_all()
    made.instance.close()


def checkpoints(node: Node) -> int:
    """Return how many checkpoints the school's audit log has."""
    with node.instance.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(AuditCheckpoint).filter_by(school_id=node.school_id)
        )


def test_work_queued_while_the_broker_is_unreachable_runs_once_after(node: Node) -> None:
    node.start("worker", BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    node.send(CHECKPOINT_TASK)  # The web tier still reaches Redis and queues work.
    time.sleep(8)
    assert checkpoints(node) == 0, node.tail("worker")
    assert node.processes["worker"].poll() is None  # The worker keeps retrying; it has not died.

    node.stop("worker")
    node.start("worker")  # The broker is back (the right address).

    wait_for(lambda: checkpoints(node) == 1, 60, lambda: node.tail("worker"))
    time.sleep(3)
    assert checkpoints(node) == 1  # Run once, not once per reconnection.
