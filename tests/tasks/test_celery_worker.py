"""A real Celery worker (and its beat) on this run's broker: SQLite by default, Redis in CI."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import select

from exchange.instance import Instance
from exchange.records.models import WorkerHeartbeat
from exchange.serve import worker_command, worker_environment
from exchange.tasks.celery_app import make_celery

pytestmark = pytest.mark.celery


def _start_worker(instance: Instance, *, beat: bool) -> subprocess.Popen[bytes]:
    with (instance.home / "worker.log").open("wb") as log:
        return subprocess.Popen(
            worker_command(instance, beat=beat, concurrency=1),
            env=worker_environment(instance),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def worker(instance: Instance) -> Iterator[subprocess.Popen[bytes]]:
    """Run a real worker process, without beat, for the test instance."""
    process = _start_worker(instance, beat=False)
    yield process
    _stop(process)


def test_a_real_worker_runs_a_task_and_writes_to_the_database(
    instance: Instance, worker: subprocess.Popen[bytes]
) -> None:
    app = make_celery(instance.config)
    result = app.send_task("exchange.heartbeat")
    returned = result.get(timeout=120)
    with instance.sessions() as session:
        row = session.get(WorkerHeartbeat, "worker")
    assert row is not None
    # The worker also beats once when it starts, so the row holds this time or a later one.
    assert row.seen_at >= datetime.fromisoformat(returned)
    app.close()


@pytest.mark.slow
def test_the_embedded_beat_schedules_the_heartbeat(instance_config: dict[str, object]) -> None:
    from exchange.instance import open_instance

    instance = open_instance({**instance_config, "HEARTBEAT_SECONDS": 2})
    process = _start_worker(instance, beat=True)
    try:
        seen: set[object] = set()
        deadline = time.monotonic() + 120
        while len(seen) < 3 and time.monotonic() < deadline:
            with instance.sessions() as session:
                seen.update(session.scalars(select(WorkerHeartbeat.seen_at)))
            time.sleep(0.5)
        assert len(seen) >= 3, (instance.home / "worker.log").read_text()[-3000:]
    finally:
        _stop(process)
        instance.close()
