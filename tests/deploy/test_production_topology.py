"""Two schools, each on gunicorn + a Celery worker + a separate beat, PostgreSQL and Redis.

A full transfer runs between them over HTTP (with the receiver's web tier down during the
first delivery), /metrics reflects it, the logs of every process hold no pupil's name, and
the separate beat fires the audit checkpoints and, when retention is migrated, the purge.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import BROKER_URL, POSTGRES_URL, on_postgres
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from transfer_kit import OTHER_CHILD, SUBJECT, child_with_records, school_with_keys

from deploy.topology import Node, free_port, introduce_across, wait_for
from exchange.audit.models import AuditCheckpoint
from exchange.db import transaction
from exchange.partners.service import find_partner
from exchange.records.models import Incident, Pupil, School, User
from exchange.records.upn import make_upn
from exchange.transfers import states, workflow
from exchange.transfers.actors import Actor

pytestmark = [pytest.mark.celery, pytest.mark.slow]

OLD_PUPIL = ("Wilfred", "Ashcombe")  # Generated; left long ago, so due for purge.
STAFF = "Teacher Abbott"
NOT_IN_LOGS = (*SUBJECT, *OTHER_CHILD, *OLD_PUPIL, STAFF, " ".join(SUBJECT), "dsl1@example.org")


@dataclass
class Topology:
    """Both nodes after a full transfer, and what it left to check."""

    a: Node
    b: Node
    uid: str
    upns: tuple[str, ...]
    purge_migrated: bool


class Databases:
    """PostgreSQL databases copied from the migrated template; dropped at the end."""

    def __init__(self, template: str) -> None:
        """Remember the template to copy."""
        url = make_url(POSTGRES_URL)
        self.url = url.set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.template = template
        self.made: list[str] = []

    def make(self) -> str:
        """Create a fresh migrated database; return its URL."""
        name = f"sgx_topology_{secrets.token_hex(5)}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.made.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self) -> None:
        """Drop every database made."""
        with self.admin.connect() as connection:
            for name in self.made:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def _settings(tmp: Path, name: str, database_url: str) -> dict[str, object]:
    return {
        "HOME": tmp / name,
        "DATABASE_URL": database_url,
        "BROKER_URL": BROKER_URL,
        "TASK_QUEUE": f"topology-{name}-{secrets.token_hex(4)}",
        "INSTANCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        "PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
        "HEARTBEAT_SECONDS": 3,
        "CHECKPOINT_SECONDS": 3,
        "PURGE_SCHEDULE_SECONDS": 4,
        # One of this school's two records is due: far above the guard's share of a real school.
        "PURGE_VOLUME_GUARD_PERCENT": 100,
        "LOG_FORMAT": "json",
    }


def _old_pupil_due_for_purge(session, node: Node, school: School) -> None:  # type: ignore[no-untyped-def]
    """Add a pupil who left long ago with one incident, dated so it is due now; the school's
    DPO has chosen automatic disposal, so the beat's purge needs no review."""
    from exchange.retention.assign import recompute_pupil
    from exchange.retention.settings import store

    store(school, "automatic_disposal", True)

    pupil = Pupil(
        school_id=school.id,
        upn=make_upn(school.laestab, 8, 7),
        forename=OLD_PUPIL[0],
        surname=OLD_PUPIL[1],
        date_of_birth=date(1990, 1, 1),
    )
    session.add(pupil)
    session.flush()
    incident = Incident(
        school_id=school.id,
        pupil_id=pupil.id,
        occurred_at=datetime(2004, 3, 3, 9, 15, tzinfo=UTC),
        recorded_at=datetime(2004, 3, 3, 11, 0, tzinfo=UTC),
        narrative=f"{OLD_PUPIL[0]} was upset at lunch.",
        status="closed",
    )
    session.add(incident)
    session.flush()
    recompute_pupil(session, school.id, pupil.id)


def _enrol(a: Node, b: Node, purge_migrated: bool) -> tuple[str, ...]:
    """Create both schools, confirm each other's keys, and the children at A."""
    with transaction(a.instance.sessions) as sa, transaction(b.instance.sessions) as sb:
        school_a = school_with_keys(sa, a.instance, 1, "bretherton")
        school_b = school_with_keys(sb, b.instance, 2, "holy_trinity")
        introduce_across(sa, school_a, sb, school_b, a.url, b.url)
        subject, other = child_with_records(sa, a.instance, school_a)
        if purge_migrated:
            _old_pupil_due_for_purge(sa, a, school_a)
        a.school_id, b.school_id = school_a.id, school_b.id
        a.dsl_id = sa.scalar(select(User.id).filter_by(school_id=school_a.id, role="dsl"))
        b.dsl_id = sb.scalar(select(User.id).filter_by(school_id=school_b.id, role="dsl"))
        return subject.upn, other.upn


def _run_transfer(a: Node, b: Node) -> str:
    """Offer, accept, authorise and deliver, with B's web tier down for the first delivery."""
    with transaction(a.instance.sessions) as session:
        school = session.get(School, a.school_id)
        dsl = Actor.of(session.get(User, a.dsl_id))
        pupil = next(
            row
            for row in session.scalars(select(Pupil).filter_by(school_id=school.id))
            if row.forename == SUBJECT[0]
        )
        partner = find_partner(session, school.id, "990102")
        transfer = workflow.start(
            session, a.instance, school, "create", dsl, pupil=pupil, partner=partner
        )
        transfer_id, uid = transfer.id, transfer.transfer_uid
    a.act(transfer_id, "start_review")  # The vault documents are redacted by A's worker.
    wait_for(
        lambda: a.transfer(uid).vault_queued_at is None,
        120,
        lambda: f"vault not redacted: {a.tail('worker')}",
    )
    a.act(transfer_id, "offer")
    offered = wait_for(lambda: b.transfer(uid), 60, lambda: f"no offer: {a.tail('worker')}")
    b.act(offered.id, "accept", on_roll_confirmed=True)
    wait_for(
        lambda: a.transfer(uid).state == states.ACCEPTED,
        60,
        lambda: f"no acceptance: {b.tail('worker')}",
    )
    b.stop("web")
    a.act(
        transfer_id,
        "record_conversation",
        held_on=a.transfer(uid).created_at.date(),
        participants="Dsl 1, Dsl 2",
        summary=f"Needs a trusted adult; keep apart from {OTHER_CHILD[0]}.",
    )
    a.act(transfer_id, "authorise", fresh_second_factor=True)
    wait_for(
        lambda: a.transfer(uid).delivery_attempts >= 1,
        60,
        lambda: f"no delivery attempt: {a.tail('worker')}",
    )
    b.start("web")
    wait_for(
        lambda: a.transfer(uid).state == states.CLOSED,
        120,
        lambda: f"not closed at A: {a.tail('worker')}",
    )
    wait_for(
        lambda: b.transfer(uid).state == states.CLOSED,
        60,
        lambda: f"not closed at B: {b.tail('worker')}",
    )
    return uid


def _retention_migrated(node: Node) -> bool:
    return "purge_runs" in inspect(node.instance.engine).get_table_names()


@pytest.fixture(scope="module")
def topology(
    template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    """Start both nodes, run one full transfer through them, and keep them up for the checks."""
    if not (on_postgres() and BROKER_URL.startswith("redis")):
        pytest.skip(
            "the production topology needs EXCHANGE_TEST_DATABASE_URL (PostgreSQL) and "
            "EXCHANGE_TEST_BROKER_URL (Redis); the SQLite run covers `exchange serve`"
        )
    pytest.importorskip("gunicorn")
    tmp = tmp_path_factory.mktemp("topology")
    databases = Databases(template_database)
    nodes = [
        Node(name, _settings(tmp, name, databases.make()), tmp / "logs") for name in ("a", "b")
    ]
    a, b = nodes
    try:
        purge_migrated = _retention_migrated(a)
        upns = _enrol(a, b, purge_migrated)
        for node in nodes:
            for role in ("web", "worker", "beat"):
                node.start(role)
        uid = _run_transfer(a, b)
        yield Topology(a, b, uid, upns, purge_migrated)
    finally:
        for node in nodes:
            node.stop_all()
            node.instance.close()
        databases.drop()


def test_a_full_transfer_closes_on_both_sides(topology: Topology) -> None:
    sent, got = topology.a.transfer(topology.uid), topology.b.transfer(topology.uid)
    assert sent.receipt_jws == got.receipt_jws
    assert sent.countersignature_jws == got.countersignature_jws
    with topology.b.instance.sessions() as session:
        imported = session.scalar(
            select(func.count()).select_from(Incident).filter_by(school_id=topology.b.school_id)
        )
    assert imported == 1  # Once, although the first delivery found B's web tier down.


def test_metrics_reflect_the_transfer(topology: Topology) -> None:
    at_a, at_b = topology.a.metrics(), topology.b.metrics()
    assert at_a['exchange_transfers{school="990101",direction="outgoing",state="closed"}'] == 1
    assert at_b['exchange_transfers{school="990102",direction="incoming",state="closed"}'] == 1
    assert at_a['exchange_receipts_verified_total{school="990101"}'] == 1
    assert at_a['exchange_delivery_retries_total{school="990101"}'] >= 1
    assert at_b['exchange_delivery_retries_total{school="990102"}'] == 0


def test_the_separate_beat_drives_the_worker(topology: Topology) -> None:
    for node in (topology.a, topology.b):
        wait_for(
            lambda node=node: node.health().get("status") == "ok",
            60,
            lambda node=node: f"{node.name} not healthy: {node.health()} {node.tail('beat')}",
        )
        with node.instance.sessions() as session:
            checkpoints = session.scalar(
                select(func.count())
                .select_from(AuditCheckpoint)
                .filter_by(school_id=node.school_id)
            )
        assert checkpoints >= 1, node.tail("beat")


def test_the_separate_beat_fires_the_scheduled_purge(topology: Topology) -> None:
    if not topology.purge_migrated:
        pytest.skip("the retention tables have no migration yet: no purge to fire")
    a = topology.a
    wait_for(
        lambda: a.metrics()['exchange_disposal_certificates_total{school="990101"}'] >= 1,
        90,
        lambda: f"no purge: {a.tail('worker')} {a.tail('beat')}",
    )
    assert a.metrics()['exchange_purges_run_total{school="990101"}'] >= 1
    with a.instance.sessions() as session:
        incidents = session.scalar(
            select(func.count()).select_from(Incident).filter_by(school_id=a.school_id)
        )
    assert incidents == 1  # The old pupil's incident went; the transferred child's stays.


def test_the_logs_of_the_whole_transfer_hold_no_personal_data(topology: Topology) -> None:
    logs = topology.a.log_text() + topology.b.log_text()
    assert topology.uid in logs  # The access log names the transfer by its id...
    for secret in (*NOT_IN_LOGS, *topology.upns):
        assert secret not in logs  # ...but never a pupil or a person.
    structured = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert structured, "no JSON log line was written"
    assert all({"time", "level", "logger", "event"} <= set(line) for line in structured)
    assert "rid=" in logs
