"""Fault drills: a process SIGKILLed in the middle of a delivery, on both sides of it.

1. The sender's Celery worker dies while its delivery waits for the receiver's answer (the
   receiver has imported and signed the receipt; the answer is held back by a relay). The
   task is lost with the worker; the operator re-queues it (docs/operations.md, "Recovering
   from faults"), and the transfer completes once: one import, the same receipts both sides.
2. The receiver's web process dies mid-import (the import runs inside the upload request):
   nothing is half-imported, gunicorn replaces the process, and the sender's retry completes
   the transfer once.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from deploy.drills import (
    DELIVER_TASK,
    DrillNode,
    authorised_transfer,
    closed_once,
    imported_rows,
    pid_in,
    two_schools,
)
from deploy.topology import wait_for
from exchange.records.models import PupilDataKey
from exchange.tasks.celery_app import make_celery
from exchange.transfers import states

pytestmark = [pytest.mark.celery, pytest.mark.slow]


def test_a_worker_killed_mid_delivery_is_requeued_and_the_transfer_completes_once(
    template_database: str, tmp_path: Path
) -> None:
    with two_schools(template_database, tmp_path) as (a, b, relay, pair):
        b.start("web")
        a.start("worker")
        transfer_id, uid = authorised_transfer(a, b, pair)

        relay.hold.set()  # B will import and answer; its answer waits in the relay.
        a.send(DELIVER_TASK, transfer_id)
        wait_for(relay.held.is_set, 60, lambda: f"B never answered: {a.tail('worker')}")
        assert b.transfer(uid).state == states.RECEIPTED  # B holds the bundle...
        a.stop("worker", signal.SIGKILL)  # ...and A's worker dies before it hears so.
        relay.hold.clear()
        relay.release.set()
        assert a.transfer(uid).state == states.AUTHORISED  # A's transaction rolled back.

        a.start("worker")
        # The documented step: re-queue the delivery of a transfer stuck in 'authorised'.
        a.celery("call", DELIVER_TASK, f"--args=[{transfer_id}]")
        closed_once(a, b, uid)

        # The lost message, if the broker gives it back later, finds the work done.
        attempts = a.transfer(uid).delivery_attempts
        app = make_celery(a.config)
        try:
            again = app.send_task(DELIVER_TASK, args=[transfer_id]).get(timeout=60)
        finally:
            app.close()
        assert again == states.CLOSED
        assert a.transfer(uid).delivery_attempts == attempts
        assert imported_rows(b)["imports audited"] == 1


@dataclass
class ImportKilled:
    """What the receiver's kill mid-import left, and the nodes to check the recovery on."""

    a: DrillNode
    b: DrillNode
    uid: str
    rows_before: dict[str, int]
    rows_after_kill: dict[str, int]
    keys_before: int
    keys_after_kill: int
    state_after_kill: str
    receipt_after_kill: str | None


def _pupil_keys(node: DrillNode) -> int:
    with node.instance.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(PupilDataKey).filter_by(school_id=node.school_id)
        )


def _leftovers(node: DrillNode, prefix: str) -> list[str]:
    return sorted(path.name for path in Path(node.config["HOME"]).rglob(f"{prefix}*"))


@pytest.fixture(scope="module")
def import_killed(
    template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ImportKilled]:
    """Kill B's web process while it imports A's bundle; keep both up for the checks."""
    tmp = tmp_path_factory.mktemp("import-killed")
    flag = tmp / "import-paused"
    with two_schools(template_database, tmp) as (a, b, _relay, pair):
        b.start("web", DRILL_PAUSE_IMPORT=str(flag))
        a.start("worker")
        transfer_id, uid = authorised_transfer(a, b, pair)
        rows_before, keys_before = imported_rows(b), _pupil_keys(b)

        a.send(DELIVER_TASK, transfer_id)
        pid = wait_for(lambda: pid_in(flag), 60, lambda: f"no import: {b.tail('web')}")
        os.kill(pid, signal.SIGKILL)  # The gunicorn worker running the import dies.
        wait_for(lambda: not Path(f"/proc/{pid}").exists(), 10, lambda: f"{pid} still alive")

        transfer = b.transfer(uid)
        yield ImportKilled(
            a,
            b,
            uid,
            rows_before,
            imported_rows(b),
            keys_before,
            _pupil_keys(b),
            transfer.state,
            transfer.receipt_jws,
        )


def test_nothing_is_half_imported_when_the_receiver_dies_mid_import(
    import_killed: ImportKilled,
) -> None:
    assert import_killed.rows_after_kill == import_killed.rows_before
    assert import_killed.keys_after_kill == import_killed.keys_before
    assert import_killed.state_after_kill == states.ACCEPTED  # Still waiting for the bundle.
    assert import_killed.receipt_after_kill is None


def test_the_senders_retry_completes_the_transfer_once(import_killed: ImportKilled) -> None:
    closed_once(import_killed.a, import_killed.b, import_killed.uid)
    assert import_killed.a.transfer(import_killed.uid).delivery_attempts >= 2


def test_no_decrypted_bundle_is_left_behind(import_killed: ImportKilled) -> None:
    closed_once(import_killed.a, import_killed.b, import_killed.uid)
    assert _leftovers(import_killed.b, "sgx-bundle-") == []
    assert _leftovers(import_killed.b, "sgx-upload-") == []
