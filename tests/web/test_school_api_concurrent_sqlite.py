"""Concurrent writes to the school-to-school API on SQLite wait their turn instead of failing."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from transfer_kit import introduce, make_pdf, school_with_keys

from exchange.db import transaction
from exchange.instance import Instance, open_instance
from exchange.partners.service import find_partner
from exchange.policy.service import find_category
from exchange.records.models import Incident, Pupil, School, User, VaultDocument
from exchange.records.upn import make_upn
from exchange.transfers import incoming, states, workflow
from exchange.transfers.actors import Actor
from exchange.transfers.client import HttpTransport, Reply
from exchange.transfers.delivery import API_PREFIX, deliver
from exchange.transfers.models import Transfer
from exchange.transfers.vault_task import redact_vault
from exchange.vault.pupil_keys import blob_context, pupil_data_key

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("EXCHANGE_TEST_DATABASE_URL", "").startswith("postgres"),
        reason="the embedded SQLite default is under test",
    ),
]
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TRANSFERS = 16
IN_FLIGHT = 8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _gunicorn(config: dict[str, Any], log: Path) -> Iterator[None]:
    """Serve the instance with several gunicorn workers, each its own SQLite connection."""
    environment = dict(os.environ)
    environment.update({f"EXCHANGE_{k}": str(v) for k, v in config.items() if v is not None})
    environment["GUNICORN_BIND"] = config["PUBLIC_URL"].removeprefix("http://")
    command = [
        *(sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py")),
        *("-w", "4", "--access-logfile", "/dev/null", "exchange.web:create_app()"),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{config['PUBLIC_URL']}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.3)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


class _RecordingTransport(HttpTransport):
    """Real HTTP that counts the status of every bundle upload."""

    def __init__(self, statuses: Counter[int]) -> None:
        super().__init__()
        self.statuses = statuses

    def put_file(self, url: str, path: Path, headers: dict[str, str]) -> Reply:
        reply = super().put_file(url, path, headers)
        self.statuses[reply.status] += 1
        return reply


def _children(session: Any, instance: Instance, school: School) -> list[int]:
    """Create the leavers, each with an incident and a PDF in the vault."""
    category = find_category(session, school, "Bullying Allegation")
    ids = []
    for number in range(TRANSFERS):
        child = Pupil(
            school_id=school.id,
            upn=make_upn(school.laestab, 24, 100 + number),
            forename=f"Forename{chr(65 + number)}",
            surname=f"Surname{chr(65 + number)}",
            date_of_birth=date(2016, 1 + number % 12, 1 + number),
            year_group="4",
            leaving_date=date(2026, 11, 20),
        )
        session.add(child)
        session.flush()
        incident = Incident(
            school_id=school.id,
            pupil_id=child.id,
            occurred_at=datetime(2026, 10, 1, 10, tzinfo=UTC),
            recorded_at=datetime(2026, 10, 1, 12, tzinfo=UTC),
            narrative="The child was upset at break and asked to speak to an adult.",
            status="open",
        )
        incident.categories.append(category)
        session.add(incident)
        session.flush()
        key = pupil_data_key(session, child, instance.instance_key)
        pdf = make_pdf(["Meeting notes", "The child attended with a parent."])
        blob = instance.blobs.write(key, blob_context(child), io.BytesIO(pdf), 10**7)
        session.add(
            VaultDocument(
                school_id=school.id,
                pupil_id=child.id,
                incident_id=incident.id,
                original_filename="notes.pdf",
                media_type="application/pdf",
                size=blob.size,
                sha256=blob.sha256,
                storage_key=blob.storage_key,
            )
        )
        ids.append(child.id)
    session.flush()
    return ids


def _dsl(session: Any, school_id: int) -> Actor:
    return Actor.of(session.scalar(select(User).filter_by(school_id=school_id, role="dsl")))


def _offers(instance: Instance, sender_id: int, receiver_urn: str, children: list[int]) -> list:
    offers = []
    for child_id in children:
        with transaction(instance.sessions) as session:
            dsl = _dsl(session, sender_id)
            transfer = workflow.start(
                session,
                instance,
                session.get(School, sender_id),
                "create",
                dsl,
                pupil=session.get(Pupil, child_id),
                partner=find_partner(session, sender_id, receiver_urn),
            )
            workflow.apply(session, instance, transfer, "start_review", dsl)
            row = transfer.id
        redact_vault(instance, row, workers=1)  # What the worker does after the review starts.
        with transaction(instance.sessions) as session:
            transfer = session.get(Transfer, row)
            token = workflow.apply(session, instance, transfer, "offer", _dsl(session, sender_id))
            offers.append((transfer.id, transfer.transfer_uid, token))
    return offers


@pytest.fixture
def served(instance_config: dict[str, object], tmp_path: Path) -> Iterator[Instance]:
    """An instance on a SQLite file, served by gunicorn with four workers."""
    config = dict(instance_config) | {"PUBLIC_URL": f"http://127.0.0.1:{_free_port()}"}
    config["LOG_LEVEL"] = "WARNING"
    instance = open_instance(config)
    assert instance.engine.dialect.name == "sqlite"
    try:
        yield instance
    finally:
        instance.close()


def test_concurrent_offers_and_uploads_get_no_server_error(
    served: Instance, tmp_path: Path
) -> None:
    """Eight requests in flight, across four gunicorn workers: every write succeeds."""
    instance, url = served, served.config["PUBLIC_URL"]
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        introduce(session, sender, receiver, url)
        introduce(session, receiver, sender, url)
        children = _children(session, instance, sender)
        sender_id, receiver_id, receiver_urn = sender.id, receiver.id, receiver.urn
        sender_urn = sender.urn
    offers = _offers(instance, sender_id, receiver_urn, children)
    config = {k: v for k, v in instance.config.items() if k != "HOME"} | {"HOME": instance.home}
    with _gunicorn(config, tmp_path / "gunicorn.log"), ThreadPoolExecutor(IN_FLIGHT) as pool:

        def post(path: str, token: str) -> int:
            reply = requests.post(
                f"{url}{API_PREFIX}/{path}",
                data=token.encode(),
                headers={"Content-Type": "application/jose"},
                timeout=120,
            )
            return reply.status_code

        offered = list(pool.map(lambda o: post(f"{receiver_urn}/offers", o[2]), offers))
        assert offered == [202] * TRANSFERS
        responses = []
        for _, uid, _ in offers:
            with transaction(instance.sessions) as session:
                received = incoming.find_transfer(session, receiver_id, uid, "incoming")
                dsl = _dsl(session, receiver_id)
                responses.append(
                    workflow.apply(
                        session, instance, received, "accept", dsl, on_roll_confirmed=True
                    )
                )
        answered = list(pool.map(lambda t: post(f"{sender_urn}/offer-responses", t), responses))
        assert answered == [200] * TRANSFERS
        for row, _, _ in offers:
            with transaction(instance.sessions) as session:
                transfer = session.get(Transfer, row)
                dsl = _dsl(session, sender_id)
                workflow.apply(
                    session,
                    instance,
                    transfer,
                    "record_conversation",
                    dsl,
                    held_on=transfer.created_at.date(),
                    participants="Dsl 1, Dsl 2",
                    summary="Handover.",
                )
                workflow.apply(
                    session, instance, transfer, "authorise", dsl, fresh_second_factor=True
                )
        statuses: Counter[int] = Counter()

        def upload(row: int) -> str:
            with transaction(instance.sessions) as session:
                transfer = session.get(Transfer, row)
                return deliver(session, instance, transfer, _RecordingTransport(statuses))

        delivered = list(pool.map(upload, [row for row, _, _ in offers]))
    assert statuses == Counter({200: TRANSFERS})
    assert delivered == [states.RECEIPTED] * TRANSFERS
