"""Fault drill: the Celery worker SIGKILLed in the middle of a purge.

The purge runs in the worker in batches (of 2 here), each committed with its counts. The
worker is killed after the first batch. Its lease stays taken until it expires (10 minutes;
the drill moves the expiry to now instead of waiting), then the next purge resumes the run:
it destroys the rest, counts nothing twice, and the certificate's totals match what went.
"""

from __future__ import annotations

import io
import secrets
import signal
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from celery.exceptions import TimeoutError as ResultTimeout
from sqlalchemy import func, select, update
from transfer_kit import child_with_records, school_with_keys

from deploy.drills import Databases, DrillNode, pid_in, settings
from deploy.topology import wait_for
from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.packaging.keys import all_public_keys, public_key_of
from exchange.records.models import Incident, Pupil, School, VaultDocument
from exchange.records.upn import make_upn
from exchange.retention.assign import recompute_pupil
from exchange.retention.certificate import verify_certificate
from exchange.retention.errors import PurgeBusy
from exchange.retention.models import DisposalCertificate, PurgeLease, PurgeRun
from exchange.retention.settings import store
from exchange.retention.tasks import PURGE_TASK
from exchange.tasks.celery_app import make_celery
from exchange.vault.pupil_keys import blob_context, pupil_data_key

pytestmark = [pytest.mark.celery, pytest.mark.slow]

LEFT_LONG_AGO = 5  # Pupils whose one incident and one file are due for destruction.


def _pupils_due(session, node: DrillNode, school: School) -> None:  # type: ignore[no-untyped-def]
    """Add pupils who left long ago, each with one incident and one vault file, all due."""
    for serial in range(LEFT_LONG_AGO):
        pupil = Pupil(
            school_id=school.id,
            upn=make_upn(school.laestab, 8, 100 + serial),
            forename=f"Old{serial}",
            surname="Leaver",
            date_of_birth=date(1990, 1, 1),
        )
        session.add(pupil)
        session.flush()
        session.add(
            Incident(
                school_id=school.id,
                pupil_id=pupil.id,
                occurred_at=datetime(2004, 3, 3, 9, 15, tzinfo=UTC),
                recorded_at=datetime(2004, 3, 3, 11, 0, tzinfo=UTC),
                narrative="Upset at lunch.",
                status="closed",
            )
        )
        key = pupil_data_key(session, pupil, node.instance.instance_key)
        blob = node.instance.blobs.write(
            key, blob_context(pupil), io.BytesIO(secrets.token_bytes(256)), 10_000
        )
        session.add(
            VaultDocument(
                school_id=school.id,
                pupil_id=pupil.id,
                original_filename="plan.pdf",
                media_type="application/pdf",
                size=blob.size,
                sha256=blob.sha256,
                storage_key=blob.storage_key,
            )
        )
        session.flush()
        recompute_pupil(session, school.id, pupil.id)


def _count(node: DrillNode, model: type, **where: object) -> int:
    with node.instance.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(model).filter_by(school_id=node.school_id, **where)
        )


def _blobs(node: DrillNode) -> int:
    return sum(1 for path in Path(node.config["HOME"], "blobs").rglob("*") if path.is_file())


def _purge(node: DrillNode, timeout: float = 60) -> dict:  # type: ignore[type-arg]
    """Queue the purge of the node's school as beat does; return the task's result."""
    app = make_celery(node.config)
    try:
        return app.send_task(PURGE_TASK, args=[node.school_id]).get(timeout=timeout)
    finally:
        app.close()


@pytest.fixture
def node(template_database: str, tmp_path: Path) -> Iterator[DrillNode]:
    """One school with records due for destruction and records not due; nothing started."""
    databases = Databases(template_database, tmp_path)
    config = settings(tmp_path, "purge", databases.make())
    config["PURGE_VOLUME_GUARD_PERCENT"] = 100  # Most of this small school's records are due.
    made = DrillNode("purge", config, tmp_path / "logs")
    try:
        with transaction(made.instance.sessions) as session:
            school = school_with_keys(session, made.instance, 1, "bretherton")
            store(school, "automatic_disposal", True)  # The DPO chose no review.
            child_with_records(session, made.instance, school)  # On roll: nothing due.
            made.school_id = school.id
            _pupils_due(session, made, school)
        yield made
    finally:
        made.stop_all()
        made.forget_lost_messages()
        made.instance.close()
        databases.drop()


def test_a_purge_killed_mid_run_is_resumed_and_counts_each_record_once(
    node: DrillNode, tmp_path: Path
) -> None:
    incidents, documents, blobs = _count(node, Incident), _count(node, VaultDocument), _blobs(node)
    flag = tmp_path / "purge-paused"
    node.start("worker", DRILL_PAUSE_PURGE=str(flag))
    node.send(PURGE_TASK, node.school_id)
    wait_for(lambda: pid_in(flag), 60, lambda: f"no purge batch: {node.tail('worker')}")
    node.stop("worker", signal.SIGKILL)  # Killed after its first batch of 2 was committed.

    assert _count(node, Incident) == incidents - 2
    with node.instance.sessions() as session:
        run = session.scalars(select(PurgeRun).filter_by(school_id=node.school_id)).one()
        assert run.state == "running"
        assert run.counts["totals"]["incidents"] == 2
    assert _count(node, DisposalCertificate) == 0

    node.start("worker")
    with pytest.raises(PurgeBusy):  # The dead worker's lease still stands...
        _purge(node)
    with transaction(node.instance.sessions) as session:  # ...until it expires (10 minutes).
        session.execute(
            update(PurgeLease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    try:
        result = _purge(node)[str(node.school_id)]
    except ResultTimeout:
        pytest.fail(f"the resumed purge did not finish: {node.tail('worker')}")

    assert result["runs"] == [run.id]  # The killed run was resumed, not started afresh.
    totals = result["totals"]
    assert totals["incidents"] == LEFT_LONG_AGO
    assert totals["documents"] == totals["files"] == LEFT_LONG_AGO
    assert totals["pupils_removed"] == totals["keys_destroyed"] == LEFT_LONG_AGO
    assert _count(node, Incident) == incidents - LEFT_LONG_AGO  # The on-roll child's stay.
    assert _count(node, VaultDocument) == documents - LEFT_LONG_AGO
    assert _blobs(node) == blobs - LEFT_LONG_AGO
    with node.instance.sessions() as session:
        surnames = [row.surname for row in session.scalars(select(Pupil))]
    assert "Leaver" not in surnames

    with node.instance.sessions() as session:
        run = session.get(PurgeRun, run.id)
        assert run.state == "finished"
        assert run.counts["totals"] == totals
        certificate = session.scalars(select(DisposalCertificate)).one()
        keys = [public_key_of(k) for k in all_public_keys(session, node.school_id, "signing")]
    payload = verify_certificate(certificate.jws, keys)
    assert {k: v for k, v in payload["totals"].items() if v} == {
        k: v for k, v in totals.items() if v
    }
    assert len(payload["pupils"]) == LEFT_LONG_AGO
    assert all(p["incidents"] == p["documents"] == 1 for p in payload["pupils"])
    assert _count(node, AuditEntry, event="retention.purge_finished") == 1
