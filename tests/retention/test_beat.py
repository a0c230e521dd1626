"""A real Celery worker with its embedded beat fires the purge on schedule."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from exchange.instance import Instance
from exchange.records.models import Incident
from exchange.retention.models import DisposalCertificate
from exchange.retention.tasks import purge_beat_entry, purge_schedule
from exchange.serve import worker_command, worker_environment
from tests.retention.support import World, add_incident, add_pupil, date_all

REPO = Path(__file__).resolve().parents[2]


def test_the_schedule_is_daily_at_the_configured_london_time() -> None:
    schedule = purge_schedule({"PURGE_TIME": "03:15"})
    assert schedule.hour == {3}
    assert schedule.minute == {15}
    assert purge_schedule({}).hour == {2}
    assert purge_beat_entry({"PURGE_SCHEDULE_SECONDS": "2"})["retention-purge"]["task"] == (
        "exchange.retention.purge"
    )


@pytest.mark.celery
@pytest.mark.slow
def test_beat_fires_the_purge_in_a_real_worker(rinstance: Instance, world: World) -> None:
    with rinstance.sessions() as writing:
        child = add_pupil(writing, world, date(1990, 1, 1))
        add_incident(writing, world, child, ("Bullying",))
        date_all(writing, world, child)
        writing.commit()
    command = worker_command(rinstance, beat=True, concurrency=1)
    command[command.index("exchange.tasks.worker")] = "tests.retention.beat_app"
    environment = worker_environment(rinstance)
    environment["EXCHANGE_PURGE_SCHEDULE_SECONDS"] = "2"
    environment["EXCHANGE_PURGE_VOLUME_GUARD_PERCENT"] = "100"  # One record, and it is due.
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), environment.get("PYTHONPATH")])
    )
    log_path = rinstance.home / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=REPO
        )
    try:
        deadline = time.monotonic() + 120
        certificates = 0
        while time.monotonic() < deadline and not certificates:
            with rinstance.sessions() as reading:
                certificates = reading.scalar(select(func.count()).select_from(DisposalCertificate))
            time.sleep(0.5)
        assert certificates == 1, log_path.read_text()[-3000:]
        with rinstance.sessions() as reading:
            assert reading.scalar(select(func.count()).select_from(Incident)) == 0
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
