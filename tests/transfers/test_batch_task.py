"""A batch made by a task: queued with its id only, one child per transaction, and a run that
stops, stalls or dies is seen and carried on without making any child twice."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from batch_kit import make_leavers, put_on_roll
from click.testing import CliRunner
from sqlalchemy import select
from totp_kit import acting, enrol
from transfer_kit import Pair, actor

from exchange.audit.models import AuditEntry
from exchange.audit.service import actor_user_of
from exchange.cli import main
from exchange.db import transaction, utcnow
from exchange.instance import Instance
from exchange.outbox.models import OutboxMessage
from exchange.outbox.service import celery_sender, dispatch, written_in
from exchange.partners.service import find_partner
from exchange.records.models import School
from exchange.serve import worker_command, worker_environment
from exchange.tasks import names
from exchange.tasks.celery_app import make_celery
from exchange.transfers import batch as batches
from exchange.transfers import batch_task
from exchange.transfers.batch_sources import children_from_list
from exchange.transfers.batch_task import (
    DUPLICATE,
    MADE,
    STOPPED,
    can_retry,
    queue_batch,
    run_batch,
    run_state,
)
from exchange.transfers.models import Transfer, TransferBatch


def _queued(instance: Instance, pair: Pair, numbers: range) -> tuple[int, list[int]]:
    """Plan and queue a batch of these leavers (drafts reviewed, not offered), as the page does."""
    with transaction(instance.sessions) as session:
        sender = session.get(School, pair.sender_id)
        receiver = session.get(School, pair.receiver_id)
        leavers = make_leavers(session, sender, numbers)
        put_on_roll(session, receiver, leavers)
        partner = find_partner(session, sender.id, receiver.urn)
        children, _ = children_from_list(session, sender, [p.id for p in leavers], partner)
        dsl = actor(session, pair.sender_dsl_id)
        batch = batches.plan_batch(
            session,
            sender,
            dsl,
            children,
            source="list",
            problems=[("A801200099001", "no pupil with this UPN at this school")],
            offer=False,
        )
        queue_batch(session, batch, dsl)
        return batch.id, written_in(session)


def _runs_audited(
    instance: Instance, school_id: int, batch_id: int
) -> list[tuple[str, int | None, dict]]:
    """Return (event, acting user, details) of each audited run of the batch, in order."""
    with instance.sessions() as session:
        stored = session.scalars(
            select(AuditEntry.canonical)
            .where(AuditEntry.school_id == school_id, AuditEntry.event.like("batch.%"))
            .order_by(AuditEntry.seq)
        )
        entries = [json.loads(canonical) for canonical in stored]
    return [
        (e["event"], actor_user_of(e), e["details"])
        for e in entries
        if e["object"] == {"type": "transfer_batch", "id": str(batch_id)}
    ]


def _batch(instance: Instance, batch_id: int) -> TransferBatch:
    with instance.sessions() as session:
        batch = session.get(TransferBatch, batch_id)
        session.expunge(batch)
        return batch


def _made(instance: Instance, batch_id: int) -> list[int]:
    with instance.sessions() as session:
        return list(
            session.scalars(
                select(Transfer.pupil_id).where(Transfer.batch_id == batch_id).order_by(Transfer.id)
            )
        )


def test_the_task_carries_only_the_batch_id_and_reports_each_child(
    instance: Instance, pair: Pair
) -> None:
    batch_id, pending = _queued(instance, pair, range(20, 23))
    with instance.sessions() as session:
        [row] = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(pending)))
        assert (row.task, row.args) == (names.CREATE_BATCH, [batch_id])  # An id, no name.
    before = _batch(instance, batch_id)
    assert (before.done, before.total, run_state(before)) == (1, 4, "waiting")
    steps: list[int] = []
    assert run_batch(instance, batch_id, row.id, progress=steps.append) == MADE
    assert steps == [1, 1, 1]
    after = _batch(instance, batch_id)
    assert (after.done, after.total, run_state(after)) == (4, 4, "finished")
    assert len(_made(instance, batch_id)) == 3
    assert [p["transfer_id"] for p in after.problems] == [None]
    assert run_batch(instance, batch_id, row.id) == DUPLICATE  # A second send does nothing.
    assert len(_made(instance, batch_id)) == 3


def test_a_run_that_stops_is_shown_and_a_retry_makes_only_the_children_left(
    instance: Instance, pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_id, pending = _queued(instance, pair, range(24, 28))
    real = batch_task.start_child
    calls = []

    def breaks_on_the_third(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the disk is full")
        return real(*args, **kwargs)

    monkeypatch.setattr(batch_task, "start_child", breaks_on_the_third)
    assert run_batch(instance, batch_id, pending[0]) == STOPPED
    stopped = _batch(instance, batch_id)
    assert run_state(stopped) == "stopped"
    assert can_retry(stopped)
    assert "stopped (RuntimeError) after 3 of 5 children" in stopped.stopped
    first = _made(instance, batch_id)
    assert len(first) == 2
    monkeypatch.setattr(batch_task, "start_child", real)
    with transaction(instance.sessions) as session:
        dsl = actor(session, pair.sender_dsl_id)
        queue_batch(session, session.get(TransferBatch, batch_id), dsl)
        [again] = written_in(session)
    assert run_batch(instance, batch_id, again) == MADE
    assert _runs_audited(instance, pair.sender_id, batch_id) == [
        ("batch.started", pair.sender_dsl_id, {"children": 4, "left": 4}),
        ("batch.started_again", pair.sender_dsl_id, {"children": 4, "left": 2}),
    ]
    made = _made(instance, batch_id)
    assert made[:2] == first
    assert len(made) == len(set(made)) == 4
    assert run_state(_batch(instance, batch_id)) == "finished"


def test_a_worker_that_dies_leaves_a_batch_that_stalls_and_can_be_started_again(
    instance: Instance, pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_id, pending = _queued(instance, pair, range(28, 31))
    real = batch_task.start_child
    calls = []

    def killed_after_one(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit(-9)  # Nothing in the task can catch a SIGKILL: nor this.
        return real(*args, **kwargs)

    monkeypatch.setattr(batch_task, "start_child", killed_after_one)
    with pytest.raises(SystemExit):
        run_batch(instance, batch_id, pending[0])
    monkeypatch.setattr(batch_task, "start_child", real)
    left = _batch(instance, batch_id)
    assert run_state(left) == "running"
    assert not can_retry(left)
    later = utcnow() + batch_task.STALLED_AFTER + timedelta(seconds=1)
    assert run_state(left, later) == "stalled"
    assert can_retry(left, later)
    with transaction(instance.sessions) as session:
        batch = session.get(TransferBatch, batch_id)
        batch.progress_at = utcnow() - batch_task.STALLED_AFTER - timedelta(seconds=1)
        assert batch_task.needing_action(session, pair.sender_id, []) == 1
        queue_batch(session, batch, actor(session, pair.sender_dsl_id))
        [again] = written_in(session)
    assert run_batch(instance, batch_id, again) == MADE
    made = _made(instance, batch_id)
    assert len(made) == len(set(made)) == 3


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def worker(instance: Instance) -> Iterator[subprocess.Popen[bytes]]:
    """Run a real Celery worker process for the test instance (as tests/tasks does)."""
    with (instance.home / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            worker_command(instance, beat=False, concurrency=1),
            env=worker_environment(instance),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    yield process
    _stop(process)


@pytest.mark.celery
def test_a_real_worker_makes_the_batch_queued_through_the_outbox(
    instance: Instance, pair: Pair, worker: subprocess.Popen[bytes]
) -> None:
    batch_id, pending = _queued(instance, pair, range(31, 35))
    app = make_celery(instance.config)
    try:
        assert dispatch(instance.sessions, celery_sender(app), pending) == 1
    finally:
        app.close()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        batch = _batch(instance, batch_id)
        if run_state(batch) == "finished":
            break
        time.sleep(0.2)
    log = (instance.home / "worker.log").read_text()[-3000:]
    assert run_state(batch) == "finished", log
    assert (batch.done, batch.total) == (5, 5)
    assert len(_made(instance, batch_id)) == 4
    with instance.sessions() as session:
        assert session.get(OutboxMessage, pending[0]).ran_at is not None


@pytest.mark.celery
def test_the_command_line_follows_the_worker_making_the_batch(
    instance: Instance, pair: Pair, cli_env: dict[str, str], worker: subprocess.Popen[bytes]
) -> None:
    with transaction(instance.sessions) as session:
        sender = session.get(School, pair.sender_id)
        upns = [p.upn for p in make_leavers(session, sender, [36, 37])]
    enrol(instance, "dsl1@example.org")
    upn_args = [part for upn in upns for part in ("--upn", upn)]
    result = CliRunner().invoke(
        main,
        ["--school", "990101", "batches", "create", *upn_args, "--to", "990102", "--draft-only",
         "--in-worker", *acting(instance, "dsl1@example.org")],
        env=cli_env,
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output + (instance.home / "worker.log").read_text()
    assert "2 of 2 children started" in result.output
    with instance.sessions() as session:
        [batch] = session.scalars(select(TransferBatch).where(TransferBatch.school_id == sender.id))
        assert run_state(batch) == "finished"
        assert [entry["done"] for entry in batch.plan] == [True, True]
