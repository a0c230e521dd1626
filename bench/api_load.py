"""Load-test the school-to-school API on loopback against gunicorn: offers, uploads, receipts.

Run on demand: `python bench/api_load.py` (about a minute). It hosts two schools on one
instance served by gunicorn (`-w 4`, deploy/gunicorn.conf.py), prepares N transfers, then
sends a bounded number of concurrent requests per phase: signed offers, bundle uploads
(each answered with a signed receipt after the receiver verifies and imports the bundle),
and signed receipt fetches. Each phase prints throughput, p50/p99 latency and errors.
The baseline, measured in the same run at the same concurrency, is GET /readyz: one
database round trip through the same gunicorn, i.e. the floor of the stack.
SQLite by default; --postgres URL makes (and drops) a scratch database on that server.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from transfer_kit import introduce, make_pdf, school_with_keys  # noqa: E402

from exchange.db import transaction  # noqa: E402
from exchange.instance import Instance, open_instance  # noqa: E402
from exchange.migrate import upgrade  # noqa: E402
from exchange.packaging.keys import load_signing_key  # noqa: E402
from exchange.partners.service import find_partner  # noqa: E402
from exchange.policy.service import find_category  # noqa: E402
from exchange.records.models import Incident, Pupil, School, User, VaultDocument  # noqa: E402
from exchange.records.upn import make_upn  # noqa: E402
from exchange.transfers import incoming, states, workflow  # noqa: E402
from exchange.transfers.actors import Actor  # noqa: E402
from exchange.transfers.client import HttpTransport, Reply  # noqa: E402
from exchange.transfers.delivery import API_PREFIX, deliver  # noqa: E402
from exchange.transfers.messages import FETCH, sign_message  # noqa: E402
from exchange.transfers.models import Transfer  # noqa: E402
from exchange.transfers.vault_task import redact_vault  # noqa: E402
from exchange.vault.pupil_keys import blob_context, pupil_data_key  # noqa: E402

SENDER_URN, RECEIVER_URN = "990101", "990102"
# Generated names, every forename and surname distinct so no record names another child.
FORENAMES = [
    a + b
    for a in ("Ada", "Bri", "Cal", "Del", "Eli", "Fen", "Gil", "Hal")
    for b in ("ric", "wen", "mond", "lyn", "bert", "ora")
]
SURNAMES = [
    a + b
    for a in ("Ash", "Birch", "Cole", "Dun", "Elm", "Fair", "Glen", "Hart")
    for b in ("field", "ford", "wood", "by", "combe", "stead")
]


@dataclass
class Phase:
    """The latencies and failures of one phase."""

    name: str
    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def row(self) -> str:
        """Return the phase as one table row."""
        count = len(self.latencies) + self.errors
        ordered = sorted(self.latencies) or [0.0]
        p50 = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        rate = count / self.seconds if self.seconds else 0.0
        return (
            f"{self.name:<26} {count:>6} {self.concurrency:>5} {rate:>9.1f} "
            f"{p50 * 1000:>9.1f} {p99 * 1000:>9.1f} {self.errors:>6}"
        )


def run_phase(
    name: str, jobs: list[Callable[[], bool]], concurrency: int, phase: Phase | None = None
) -> Phase:
    """Run the jobs with at most `concurrency` at once; time each and count failures."""
    phase = phase or Phase(name, concurrency)

    def timed(job: Callable[[], bool]) -> tuple[float, bool]:
        started = time.perf_counter()
        try:
            ok = job()
        except Exception as error:  # A failed request is counted, not raised.
            phase.reasons[type(error).__name__] += 1
            ok = False
        return time.perf_counter() - started, ok

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for seconds, ok in pool.map(timed, jobs):
            if ok:
                phase.latencies.append(seconds)
            else:
                phase.errors += 1
    phase.seconds = time.perf_counter() - started
    return phase


def free_port() -> int:
    """Return a TCP port free on loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def scratch_database(postgres: str | None, home: Path) -> Iterator[str]:
    """Yield a database URL: a SQLite file, or a scratch PostgreSQL database dropped after."""
    if not postgres:
        yield f"sqlite:///{home / 'exchange.sqlite3'}"
        return
    url = make_url(postgres).set(drivername="postgresql+psycopg")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"sgx_bench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def gunicorn(config: dict[str, Any], workers: int) -> Iterator[subprocess.Popen[bytes]]:
    """Serve the instance with gunicorn as deploy/ does; stop it afterwards."""
    environment = dict(os.environ)
    environment.update({f"EXCHANGE_{k}": str(v) for k, v in config.items() if v is not None})
    environment["GUNICORN_BIND"] = config["PUBLIC_URL"].removeprefix("http://")
    command = [
        *(sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")),
        *("-w", str(workers), "--access-logfile", "/dev/null", "exchange.web:create_app()"),
    ]
    if workers == 0:  # `exchange serve`: waitress (8 threads) and its Celery worker, one machine.
        port = config["PUBLIC_URL"].rsplit(":", 1)[1]
        command = [sys.executable, "-m", "exchange", "serve", "--port", port]
    with (Path(config["HOME"]) / "gunicorn.log").open("wb") as log:
        process = subprocess.Popen(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{config['PUBLIC_URL']}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        else:
            raise SystemExit("gunicorn did not start: see gunicorn.log")
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def add_children(session: Any, instance: Instance, school: School, count: int) -> list[int]:
    """Create `count` leaving children (generated names), each with an incident and a PDF."""
    category = find_category(session, school, "Bullying Allegation")
    ids = []
    for number in range(count):
        forename, surname = FORENAMES[number], SURNAMES[-1 - number]
        child = Pupil(
            school_id=school.id,
            upn=make_upn(school.laestab, 24, 100 + number),
            forename=forename,
            surname=surname,
            date_of_birth=date(2016, 1 + number % 12, 1 + number % 28),
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
            narrative=f"{forename} was upset at break and asked to speak to an adult.",
            status="open",
        )
        incident.categories.append(category)
        session.add(incident)
        session.flush()
        key = pupil_data_key(session, child, instance.instance_key)
        pdf = make_pdf(["Meeting notes", f"{forename} {surname} attended with a parent."])
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
    return ids


@dataclass
class World:
    """The instance, its two schools' ids and DSL ids, and the children leaving the sender."""

    instance: Instance
    sender_id: int
    receiver_id: int
    sender_dsl: int
    receiver_dsl: int
    children: list[int]


def build_world(instance: Instance, transfers: int) -> World:
    """Create both schools, introduce them, and the children to transfer."""
    url = instance.config["PUBLIC_URL"]
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        introduce(session, sender, receiver, url)
        introduce(session, receiver, sender, url)
        children = add_children(session, instance, sender, transfers)
        dsl = {
            school.id: session.scalar(select(User.id).filter_by(school_id=school.id, role="dsl"))
            for school in (sender, receiver)
        }
        return World(instance, sender.id, receiver.id, dsl[sender.id], dsl[receiver.id], children)


def prepare_offers(world: World) -> list[tuple[int, str, str]]:
    """Draft, review and sign one offer per child; return (row id, transfer id, offer)."""
    offers = []
    for child_id in world.children:
        with transaction(world.instance.sessions) as session:
            sender = session.get(School, world.sender_id)
            dsl = Actor.of(session.get(User, world.sender_dsl))
            partner = find_partner(session, sender.id, RECEIVER_URN)
            transfer = workflow.start(
                session,
                world.instance,
                sender,
                "create",
                dsl,
                pupil=session.get(Pupil, child_id),
                partner=partner,
            )
            workflow.apply(session, world.instance, transfer, "start_review", dsl)
            row = transfer.id
        redact_queued_vault(world.instance, row)
        with transaction(world.instance.sessions) as session:
            transfer = session.get(Transfer, row)
            dsl = Actor.of(session.get(User, world.sender_dsl))
            token = workflow.apply(session, world.instance, transfer, "offer", dsl)
            offers.append((transfer.id, transfer.transfer_uid, token))
    return offers


def redact_queued_vault(instance: Instance, transfer_id: int) -> None:
    """Redact the vault documents the review queued, as the worker would (no worker runs here)."""
    redact_vault(instance, transfer_id, workers=1)


def post(url: str, token: str, expect: int, phase: Phase) -> bool:
    """POST a signed message; return whether the answer was the expected status."""
    reply = requests.post(
        url, data=token.encode(), headers={"Content-Type": "application/jose"}, timeout=60
    )
    if reply.status_code != expect:
        phase.reasons[f"HTTP {reply.status_code}"] += 1
    return reply.status_code == expect


def accept_all(world: World, uids: list[str]) -> list[str]:
    """Accept every received offer as the receiving DSL; return the signed responses."""
    responses = []
    for uid in uids:
        with transaction(world.instance.sessions) as session:
            received = incoming.find_transfer(session, world.receiver_id, uid, "incoming")
            dsl = Actor.of(session.get(User, world.receiver_dsl))
            responses.append(
                workflow.apply(
                    session, world.instance, received, "accept", dsl, on_roll_confirmed=True
                )
            )
    return responses


def authorise_all(world: World, transfer_ids: list[int]) -> None:
    """Record the conversation and authorise each transfer, which builds its bundle."""
    for transfer_id in transfer_ids:
        with transaction(world.instance.sessions) as session:
            transfer = session.get(Transfer, transfer_id)
            dsl = Actor.of(session.get(User, world.sender_dsl))
            workflow.apply(
                session,
                world.instance,
                transfer,
                "record_conversation",
                dsl,
                held_on=transfer.created_at.date(),
                participants="Dsl 1, Dsl 2",
                summary="Handover.",
            )
            workflow.apply(
                session, world.instance, transfer, "authorise", dsl, fresh_second_factor=True
            )


class TimedTransport(HttpTransport):
    """Real HTTP that also records how long each bundle PUT took."""

    def __init__(self, phase: Phase) -> None:
        """Record PUT latencies into this phase."""
        super().__init__()
        self.phase = phase

    def put_file(self, url: str, path: Path, headers: dict[str, str]) -> Reply:
        """PUT the bundle and time the round trip (verify, import, receipt at the receiver)."""
        started = time.perf_counter()
        reply = super().put_file(url, path, headers)
        if reply.status == 200 and reply.body.get("disposition") == "complete":
            self.phase.latencies.append(time.perf_counter() - started)
        else:
            self.phase.errors += 1
            self.phase.reasons[f"HTTP {reply.status} {reply.body.get('disposition', '')}"] += 1
        return reply


def upload_job(world: World, transfer_id: int, puts: Phase, phase: Phase) -> Callable[[], bool]:
    """Return a job that delivers one bundle through the sender's real delivery code."""

    def job() -> bool:
        with transaction(world.instance.sessions) as session:
            transfer = session.get(Transfer, transfer_id)
            state = deliver(session, world.instance, transfer, TimedTransport(puts))
            if state != states.RECEIPTED:
                phase.reasons[f"delivery ended {state}"] += 1
        return state == states.RECEIPTED

    return job


def signed_fetches(world: World, uids: list[str], count: int) -> list[tuple[str, str]]:
    """Sign `count` receipt fetches (each a fresh message id), cycling over the transfers."""
    with world.instance.sessions() as session:
        key = load_signing_key(session, world.sender_id, world.instance.instance_key)
    base = f"{world.instance.config['PUBLIC_URL']}{API_PREFIX}/{RECEIVER_URN}/transfers"
    fetches = []
    for number in range(count):
        uid = uids[number % len(uids)]
        token = sign_message({"transfer_id": uid}, key, FETCH, SENDER_URN, RECEIVER_URN)
        fetches.append((f"{base}/{uid}/receipt", token))
    return fetches


def fetch(url: str, token: str, phase: Phase) -> bool:
    """GET a receipt with a signed request; return whether one came back."""
    reply = requests.get(url, headers={"Exchange-Message": token}, timeout=60)
    if reply.status_code != 200:
        phase.reasons[f"HTTP {reply.status_code}"] += 1
    return reply.status_code == 200 and "receipt" in reply.json()


def drop_queue(instance: Instance) -> None:
    """Remove the tasks the API queued (no worker runs here), and their queue."""
    from exchange.tasks.celery_app import make_celery

    app = make_celery(instance.config)
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        channel.queue_purge(instance.config["TASK_QUEUE"])
        channel.queue_delete(instance.config["TASK_QUEUE"])
    app.close()


def main() -> None:
    """Set up, run each phase against gunicorn, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transfers", type=int, default=40, help="offers and uploads")
    parser.add_argument("--fetches", type=int, default=400, help="receipt fetches")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--serve", action="store_true", help="serve with `exchange serve` instead of gunicorn"
    )
    parser.add_argument("--postgres", help="PostgreSQL server URL for a scratch database")
    parser.add_argument("--broker", help="Redis URL for the tasks the API queues (own queue)")
    options = parser.parse_args()
    if not 1 <= options.transfers <= len(FORENAMES):
        parser.error(f"--transfers must be between 1 and {len(FORENAMES)}")
    with tempfile.TemporaryDirectory(prefix="sgx-load-") as folder:
        home = Path(folder)
        with scratch_database(options.postgres, home) as database_url:
            config = {
                "HOME": home,
                "DATABASE_URL": database_url,
                "INSTANCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
                "SECRET_KEY": secrets.token_urlsafe(32),
                "PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
                "LOG_LEVEL": "WARNING",
            }
            if options.broker:
                config["BROKER_URL"] = options.broker
                config["TASK_QUEUE"] = f"bench-{secrets.token_hex(4)}"
            instance = open_instance(config)
            try:
                upgrade(instance.engine)
                run(options, instance)
            finally:
                drop_queue(instance)
                instance.close()


def run(options: argparse.Namespace, instance: Instance) -> None:
    """Run every phase and print the results."""
    started = time.perf_counter()
    world = build_world(instance, options.transfers)
    offers = prepare_offers(world)
    print(
        f"{options.transfers} transfers, {options.fetches} receipt fetches, "
        f"{options.concurrency} in flight, "
        f"{'exchange serve' if options.serve else f'gunicorn -w {options.workers}'}, "
        f"{instance.engine.dialect.name}; setup {time.perf_counter() - started:.1f} s"
    )
    config = {k: v for k, v in instance.config.items() if k != "HOME"} | {"HOME": instance.home}
    url = instance.config["PUBLIC_URL"]
    phases = []
    with gunicorn(config, 0 if options.serve else options.workers):
        c = options.concurrency
        phases.append(
            run_phase(
                "baseline GET /readyz",
                [lambda: requests.get(f"{url}/readyz", timeout=30).ok] * options.fetches,
                c,
            )
        )
        offer_url = f"{url}{API_PREFIX}/{RECEIVER_URN}/offers"
        offered = Phase("POST offers", c)
        jobs = [lambda t=token: post(offer_url, t, 202, offered) for _, _, token in offers]
        phases.append(run_phase("POST offers", jobs, c, offered))
        uids = [uid for _, uid, _ in offers]
        responses = accept_all(world, uids)
        answer_url = f"{url}{API_PREFIX}/{SENDER_URN}/offer-responses"
        answered = Phase("POST offer responses", c)
        jobs = [lambda t=token: post(answer_url, t, 200, answered) for token in responses]
        phases.append(run_phase("POST offer responses", jobs, c, answered))
        built = time.perf_counter()
        authorise_all(world, [row for row, _, _ in offers])
        print(f"bundles built in {time.perf_counter() - built:.1f} s (not timed below)")
        uploads = Phase("PUT bundle (import+receipt)", c)
        delivered = Phase("deliver (sender, end to end)", c)
        jobs = [upload_job(world, row, uploads, delivered) for row, _, _ in offers]
        delivered = run_phase("deliver (sender, end to end)", jobs, c, delivered)
        uploads.seconds = delivered.seconds
        phases += [uploads, delivered]
        fetches = signed_fetches(world, uids, options.fetches)
        fetched = Phase("GET receipt (signed)", c)
        jobs = [lambda u=u, t=t: fetch(u, t, fetched) for u, t in fetches]
        phases.append(run_phase("GET receipt (signed)", jobs, c, fetched))
    print(f"{'phase':<26} {'reqs':>6} {'conc':>5} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} errors")
    for phase in phases:
        print(phase.row())
    for phase in phases:
        if phase.reasons:
            print(f"  {phase.name} errors: {dict(phase.reasons)}")
    print("baseline: GET /readyz through the same gunicorn, one database round trip per request")


if __name__ == "__main__":
    main()
