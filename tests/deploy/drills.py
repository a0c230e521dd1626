"""What the fault drills share: fresh databases, drill nodes, a relay that holds answers back.

A drill node is a `topology.Node` whose processes run `drill_app` (able to pause where the
drill kills). The drills run on SQLite with the SQLite-backed broker, or on PostgreSQL and
Redis when EXCHANGE_TEST_DATABASE_URL and EXCHANGE_TEST_BROKER_URL say so.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Any

from conftest import BROKER_URL, POSTGRES_URL, on_postgres
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from transfer_kit import Pair, accept_offer, authorise_transfer, start_review

from deploy.topology import DEPLOY, Node, free_port, introduce_across, wait_for
from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.partners.models import Partner
from exchange.records.models import (
    Incident,
    IncidentAction,
    IncidentEdit,
    Pupil,
    School,
    User,
    VaultDocument,
)
from exchange.tasks import names
from exchange.transfers import incoming, workflow
from exchange.transfers.actors import Actor
from exchange.transfers.client import HttpTransport, WsgiTransport
from exchange.transfers.delivery import partner_url
from exchange.transfers.models import INCOMING, Transfer
from exchange.web import create_app

DELIVER_TASK = names.DELIVER
TODAY = date(2026, 11, 20)  # The leaving child's last day (transfer_kit).


class Databases:
    """Fresh migrated databases copied from the run's template; dropped at the end."""

    def __init__(self, template: str, folder: Path) -> None:
        """Remember the template (a PostgreSQL database name or a SQLite file)."""
        self.template, self.folder, self.made = template, folder, []

    def make(self) -> str:
        """Return the URL of a new migrated database."""
        name = f"sgx_drill_{secrets.token_hex(5)}"
        self.made.append(name)
        if not on_postgres():
            path = self.folder / f"{name}.sqlite3"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        admin.dispose()
        return url.set(database=name).render_as_string(hide_password=False)

    def drop(self) -> None:
        """Drop every PostgreSQL database made (SQLite files go with the temporary folder)."""
        if not (on_postgres() and self.made):
            return
        url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self.made:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class DrillNode(Node):
    """A school's service whose web and worker run `drill_app` (pauses on request)."""

    def command(self, role: str) -> list[str]:
        """Return the role's command line as deploy/ runs it, with the drill's entry point."""
        command = super().command(role)
        return [part.replace("topology_app", "drill_app") for part in command]

    def celery(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """Run `celery -A exchange.tasks.worker ...` with this node's settings, as an operator."""
        return subprocess.run(
            [
                *(str(DEPLOY / "exchange-env"), sys.executable, "-m", "celery"),
                *("-A", "exchange.tasks.worker", *arguments),
            ],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def forget_lost_messages(self) -> None:
        """Remove from Redis the unacknowledged messages of this node's queue (killed workers').

        Redis gives such a message back only after the visibility timeout (30 minutes); the
        drill has already recovered the work, so it must not wait in Redis for another worker.
        """
        if not self.config["BROKER_URL"].startswith("redis"):
            return
        import redis

        client = redis.Redis.from_url(self.config["BROKER_URL"])
        queue = self.config["TASK_QUEUE"]
        for tag, value in client.hgetall("unacked").items():
            _message, _exchange, routing_key = json.loads(value)
            if routing_key == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        client.delete(queue)
        client.close()


def pid_in(flag: Path) -> int:
    """Return the pid a paused drill process wrote into its flag file (0 until written)."""
    try:
        return int(flag.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def settings(tmp: Path, name: str, database_url: str) -> dict[str, Any]:
    """Return a node's settings: its own folder, database, queue, keys and port."""
    config: dict[str, Any] = {
        "HOME": tmp / name,
        "DATABASE_URL": database_url,
        "TASK_QUEUE": f"drill-{name}-{secrets.token_hex(4)}",
        "INSTANCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
        "HEARTBEAT_SECONDS": 3600,
        "CHECKPOINT_SECONDS": 3600,
        "LOG_FORMAT": "json",
    }
    if on_postgres() and BROKER_URL.startswith("redis"):
        config["BROKER_URL"] = BROKER_URL
    return config


class Relay:
    """A TCP relay in front of a service; while `hold` is set it keeps the service's answers.

    The request goes through whole, the service does its work and answers, and the answer
    waits here (`held` is set) until `release` is set: the caller is left mid-request.
    """

    def __init__(self, target_port: int) -> None:
        """Listen on a free loopback port and relay to the target port."""
        self.target_port = target_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.hold, self.held, self.release = threading.Event(), threading.Event(), threading.Event()
        self.sockets: list[socket.socket] = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        """Return the address partners are given."""
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._answer, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(1 << 16):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source, sink)

    def _answer(self, upstream: socket.socket, client: socket.socket) -> None:
        kept: list[bytes] = []
        try:
            while data := upstream.recv(1 << 16):
                if self.hold.is_set() or kept:
                    kept.append(data)
                    self.held.set()
                else:
                    client.sendall(data)
            if kept:
                self.release.wait()
                client.sendall(b"".join(kept))
        except OSError:
            pass
        finally:
            _close(upstream, client)

    def close(self) -> None:
        """Stop relaying and close every connection."""
        self.release.set()
        _close(*self.sockets)


def _close(*sockets: socket.socket) -> None:
    """Shut each socket down (which wakes a thread blocked reading it), then close it."""
    for one in sockets:
        with suppress(OSError):
            one.shutdown(socket.SHUT_RDWR)
        with suppress(OSError):
            one.close()


@contextmanager
def two_schools(template: str, tmp: Path) -> Iterator[tuple[DrillNode, DrillNode, Relay, Pair]]:
    """A (sending) and B (receiving, behind a relay) enrolled with each other; nothing started.

    A's partner record of B points at the relay, so the drill can hold B's answers back.
    """
    databases = Databases(template, tmp)
    a = DrillNode("a", settings(tmp, "a", databases.make()), tmp / "logs")
    b = DrillNode("b", settings(tmp, "b", databases.make()), tmp / "logs")
    relay = Relay(b.port)
    try:
        from transfer_kit import child_with_records, school_with_keys

        with transaction(a.instance.sessions) as sa, transaction(b.instance.sessions) as sb:
            school_a = school_with_keys(sa, a.instance, 1, "bretherton")
            school_b = school_with_keys(sb, b.instance, 2, "holy_trinity")
            introduce_across(sa, school_a, sb, school_b, a.url, relay.url)
            subject, other = child_with_records(sa, a.instance, school_a)
            a.school_id, b.school_id = school_a.id, school_b.id
            a.dsl_id = sa.scalar(select(User.id).filter_by(school_id=school_a.id, role="dsl"))
            b.dsl_id = sb.scalar(select(User.id).filter_by(school_id=school_b.id, role="dsl"))
            pair = Pair(school_a.id, school_b.id, a.dsl_id, b.dsl_id, subject.id, other.id)
        yield a, b, relay, pair
    finally:
        relay.close()
        for node in (a, b):
            node.stop_all()
            node.forget_lost_messages()
            node.instance.close()
        databases.drop()


def authorised_transfer(a: DrillNode, b: DrillNode, pair: Pair) -> tuple[int, str]:
    """Offer (over HTTP to B's web), accept, and authorise; return A's row id and the uid.

    B's web must be running; A's answer to B goes through A's app in this process.
    """
    with transaction(a.instance.sessions) as session:
        school = session.get(School, a.school_id)
        dsl = Actor.of(session.get(User, a.dsl_id))
        partner = session.scalar(select(Partner).filter_by(school_id=school.id))  # B
        transfer = workflow.start(
            session,
            a.instance,
            school,
            "create",
            dsl,
            pupil=session.get(Pupil, pair.pupil_id),
            partner=partner,
            today=TODAY,
        )
        start_review(session, a.instance, transfer, dsl)
        offer = workflow.apply(session, a.instance, transfer, "offer", dsl)
        transfer_id, uid = transfer.id, transfer.transfer_uid
    with a.instance.sessions() as session:
        url = partner_url(session.get(Transfer, transfer_id), "offers")
    assert HttpTransport().post(url, offer).status == 202, b.tail("web")
    response = accept_offer(b.instance, pair, uid)
    with b.instance.sessions() as session:
        back = partner_url(
            incoming.find_transfer(session, b.school_id, uid, INCOMING), "offer-responses"
        )
    app = create_app(dict(a.config))
    try:
        assert WsgiTransport(app).post(back, response).status == 200
    finally:
        app.extensions["exchange"].close()
    authorise_transfer(a.instance, pair, transfer_id)
    return transfer_id, uid


def imported_rows(node: Node) -> dict[str, int]:
    """Return how many rows of each imported kind the school holds, and its imports audited."""
    counts = {}
    with node.instance.sessions() as session:
        for model in (Pupil, Incident, IncidentAction, IncidentEdit, VaultDocument):
            counts[model.__tablename__] = session.scalar(
                select(func.count()).select_from(model).filter_by(school_id=node.school_id)
            )
        counts["imports audited"] = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .filter_by(school_id=node.school_id, event="transfer.imported")
        )
    return counts


def closed_once(a: Node, b: Node, uid: str, seconds: float = 90) -> None:
    """Wait for the transfer to close at both ends; check one import and the same receipts."""
    wait_for(
        lambda: a.transfer(uid).state == "closed",
        seconds,
        lambda: f"not closed at A ({a.transfer(uid).state}): {a.tail('worker')}",
    )
    wait_for(
        lambda: b.transfer(uid).state == "closed",
        30,
        lambda: f"not closed at B ({b.transfer(uid).state}): {a.tail('worker')}",
    )
    sent, got = a.transfer(uid), b.transfer(uid)
    assert sent.receipt_jws == got.receipt_jws
    assert sent.countersignature_jws == got.countersignature_jws
    assert sent.receipt_disposition == got.receipt_disposition == "complete"
    rows = imported_rows(b)
    assert rows["imports audited"] == 1, rows
    assert rows["incidents"] == 1, rows  # The one transferable incident, imported once.
    assert rows["pupils"] == 1, rows
