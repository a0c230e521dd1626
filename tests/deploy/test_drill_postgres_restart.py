"""Fault drill: PostgreSQL restarts while a delivery is in flight (PostgreSQL runs only).

The receiver has imported the bundle and answered; its answer is held back by a relay while
this machine's PostgreSQL server restarts, then let through. The sender's worker hears the
receipt on a connection the restart closed. The drill records whether the transfer then
completes by itself, and checks that the documented step (docs/operations.md, "Recovering
from faults": restart the workers, re-queue what is stuck in 'authorised') completes it once.

The server is always left running: a `finally` starts it again if the restart failed.
"""

from __future__ import annotations

import gc
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import on_postgres
from sqlalchemy.engine import Engine

from deploy.drills import DELIVER_TASK, DrillNode, authorised_transfer, closed_once, two_schools
from deploy.topology import get, wait_for
from exchange.tasks.celery_app import make_celery
from exchange.transfers import states

pytestmark = [pytest.mark.celery, pytest.mark.slow]


def _cluster() -> list[str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


def _ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1"], capture_output=True).returncode == 0


def restart_postgres() -> None:
    """Restart this machine's PostgreSQL server; whatever happens, leave it running."""
    try:
        subprocess.run([*_cluster(), "restart"], check=True, capture_output=True, timeout=120)
    finally:
        if not _ready():
            subprocess.run([*_cluster(), "start"], capture_output=True, timeout=120)
        wait_for(_ready, 60, lambda: "PostgreSQL did not come back (pg_isready)")


def _drop_dead_connections() -> None:
    """The restart closed every connection this test process had too: empty every pool."""
    for engine in [one for one in gc.get_objects() if isinstance(one, Engine)]:
        engine.dispose()


@dataclass
class Restarted:
    """What the restart mid-delivery led to, and the nodes to check."""

    a: DrillNode
    b: DrillNode
    uid: str
    in_flight: str  # The in-flight delivery task's final Celery state.
    in_flight_result: str
    state_after: str  # A's transfer state once that task had ended.
    b_ready_after: list[int]  # B's /readyz answers just after the restart.


@pytest.fixture(scope="module")
def restarted(
    template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Restarted]:
    """Restart PostgreSQL while A's delivery waits for B's answer; then the documented step."""
    if not on_postgres():
        pytest.skip("the PostgreSQL restart drill needs EXCHANGE_TEST_DATABASE_URL (PostgreSQL)")
    if not (Path("/etc/postgresql").is_dir() and _ready()):
        pytest.skip("no local PostgreSQL cluster to restart")
    tmp = tmp_path_factory.mktemp("postgres-restart")
    try:
        with two_schools(template_database, tmp) as (a, b, relay, pair):
            b.start("web")
            a.start("worker")
            transfer_id, uid = authorised_transfer(a, b, pair)

            relay.hold.set()
            app = make_celery(a.config)
            task = app.send_task(DELIVER_TASK, args=[transfer_id])
            wait_for(relay.held.is_set, 60, lambda: f"B never answered: {a.tail('worker')}")
            restart_postgres()
            _drop_dead_connections()
            b_ready = [get(f"{b.url}/readyz")[0] for _ in range(6)]
            relay.hold.clear()
            relay.release.set()  # A's worker now hears the receipt.
            outcome = task.get(timeout=60, propagate=False)
            in_flight, state_after = task.state, a.transfer(uid).state
            app.close()

            if state_after == states.AUTHORISED:  # The documented step.
                a.stop("worker")
                a.start("worker")
                a.celery("call", DELIVER_TASK, f"--args=[{transfer_id}]")
            yield Restarted(a, b, uid, in_flight, repr(outcome), state_after, b_ready)
    finally:
        if not _ready():
            subprocess.run([*_cluster(), "start"], capture_output=True, timeout=120)


def test_the_transfer_completes_once_after_a_postgres_restart(restarted: Restarted) -> None:
    closed_once(restarted.a, restarted.b, restarted.uid)


def test_the_web_tier_answers_again_after_the_restart(restarted: Restarted) -> None:
    assert restarted.b_ready_after[-1] == 200, restarted.b_ready_after


def test_the_delivery_in_flight_recovers_on_its_own(restarted: Restarted) -> None:
    assert restarted.state_after != states.AUTHORISED, restarted.in_flight_result
