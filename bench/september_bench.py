"""September at the receiving school: many bundles from many senders imported through the API.

    .venv/bin/python bench/september_bench.py                             # 200 bundles, 30 schools
    .venv/bin/python bench/september_bench.py --bundles 40 --senders 6    # a quicker run

PostgreSQL and Redis on loopback by default (--postgres URL, --broker URL; '' for SQLite and
no broker).
One secondary and N primaries on one instance (a scratch database, dropped after), each
primary's leavers offered in a batch, accepted and authorised, which builds and signs every
bundle (timed once, as setup). Then gunicorn (deploy/gunicorn.conf.py, -w 4)
serves the instance and the senders' real delivery code uploads the bundles over HTTP: the
secondary verifies, decrypts, imports and signs a receipt for each. The baseline, in the same
run, is the same upload one at a time (the first --serial bundles): its mean import time
times the number of bundles is the serial time to beat. Content is generated.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from api_load import (
    ROOT,
    Phase,
    TimedTransport,
    drop_queue,
    free_port,
    gunicorn,
    run_phase,
    scratch_database,
)

sys.path.insert(0, str(ROOT / "tests"))

from batch_kit import make_leavers, post_answers, post_offers, put_on_roll
from sqlalchemy import select
from transfer_kit import actor, introduce, school_with_keys

from exchange.db import transaction
from exchange.instance import Instance, open_instance
from exchange.migrate import upgrade
from exchange.partners.service import find_partner
from exchange.records.models import School, User
from exchange.transfers import batch as batches
from exchange.transfers import states
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import deliver
from exchange.transfers.models import INCOMING, OUTGOING, Transfer, TransferBatch
from exchange.web import create_app

TARGET_SPEED_UP = 1.5
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"


def _dsl(session: object, school_id: int) -> int:
    return session.scalar(select(User.id).filter_by(school_id=school_id, role="dsl"))  # type: ignore[attr-defined]


def prepare(instance: Instance, bundles: int, senders: int) -> list[int]:
    """Offer, accept and authorise every leaver (bundles built and signed); return their ids."""
    url = instance.config["PUBLIC_URL"]
    app = create_app(dict(instance.config))
    transport = WsgiTransport(app)
    try:
        with transaction(instance.sessions) as session:
            receiver = school_with_keys(session, instance, 2, "holy_trinity")
            schools = [
                school_with_keys(session, instance, 3 + n, "bretherton") for n in range(senders)
            ]
            batch_ids = []
            for number, sender in enumerate(schools):
                introduce(session, sender, receiver, url)
                introduce(session, receiver, sender, url)
                share = range(number * bundles // senders, (number + 1) * bundles // senders)
                leavers = make_leavers(session, sender, (n + 1 for n in share))
                put_on_roll(session, receiver, leavers)
                partner = find_partner(session, sender.id, receiver.urn)
                batch, outcomes = batches.create_batch(
                    session,
                    instance,
                    sender,
                    actor(session, _dsl(session, sender.id)),
                    [(leaver, partner) for leaver in leavers],
                    source="list",
                )
                if not all(o.done for o in outcomes):
                    raise SystemExit(f"a batch was refused: {outcomes}")
                batch_ids.append(batch.id)
            receiver_id, receiver_dsl = receiver.id, _dsl(session, receiver.id)
            sent = session.scalars(
                select(Transfer.id).where(Transfer.direction == OUTGOING).order_by(Transfer.id)
            ).all()
        post_offers(instance, transport, sent)
        with transaction(instance.sessions) as session:
            offers = session.scalars(
                select(Transfer).where(
                    Transfer.school_id == receiver_id, Transfer.direction == INCOMING
                )
            ).all()
            batches.answer_offers(
                session,
                instance,
                actor(session, receiver_dsl),
                [batches.Answer(t, "accept", True) for t in offers],
            )
            uids = [t.transfer_uid for t in offers]
        post_answers(instance, transport, receiver_id, uids)
        for batch_id in batch_ids:
            with transaction(instance.sessions) as session:
                batch = session.get(TransferBatch, batch_id)
                dsl = actor(session, _dsl(session, batch.school_id))
                mine = batches.batch_transfers(session, batch)
                school = session.get(School, batch.school_id)
                talks = [
                    batches.Conversation(t, date.today(), "Both DSLs", "No concerns.")
                    for t in batches.needing_conversation(session, instance, school, dsl, mine)
                ]
                batches.record_conversations(session, instance, dsl, talks)
                outcomes = batches.take_each(
                    session, instance, mine, "authorise", dsl, fresh_second_factor=True
                )
                if not all(o.done for o in outcomes):
                    raise SystemExit(f"authorising was refused: {outcomes}")
    finally:
        app.extensions["exchange"].close()
    return list(sent)


def upload(instance: Instance, transfer_id: int, puts: Phase) -> Callable[[], bool]:
    """Return a job: the sender's real delivery of one bundle over HTTP."""

    def job() -> bool:
        with transaction(instance.sessions) as session:
            transfer = session.get(Transfer, transfer_id)
            state = deliver(session, instance, transfer, TimedTransport(puts))
        return state == states.RECEIPTED

    return job


def _row(name: str, phase: Phase, count: int) -> str:
    ordered = sorted(phase.latencies) or [0.0]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"{name:<34} {count:>5} {count / phase.seconds:>9.2f} "
        f"{statistics.median(ordered) * 1000:>8.0f} {p99 * 1000:>8.0f} {phase.errors:>6}"
    )


def run(options: argparse.Namespace, instance: Instance) -> None:
    """Prepare the bundles, then import them serially and concurrently; print the comparison."""
    started = time.perf_counter()
    sent = prepare(instance, options.bundles, options.senders)
    print(
        f"{len(sent)} bundles from {options.senders} sending schools, "
        f"{instance.engine.dialect.name}, gunicorn -w {options.workers}; offered, accepted, "
        f"authorised (bundles built and signed) in {time.perf_counter() - started:.1f} s"
    )
    serial_ids, rest = sent[: options.serial], sent[options.serial :]
    config = {k: v for k, v in instance.config.items() if k != "HOME"} | {"HOME": instance.home}
    with gunicorn(config, options.workers):
        serial_puts = Phase("serial", 1)
        serial = run_phase("serial", [upload(instance, t, serial_puts) for t in serial_ids], 1)
        puts = Phase("concurrent", options.concurrency)
        jobs = [upload(instance, t, puts) for t in rest]
        together = run_phase("concurrent", jobs, options.concurrency)
    serial_puts.seconds, puts.seconds = serial.seconds, together.seconds
    serial_puts.errors += serial.errors
    puts.errors += together.errors
    per_import = serial.seconds / max(1, len(serial_ids))
    projected = per_import * len(sent)
    concurrent_rate = len(rest) / together.seconds
    print(f"{'phase':<34} {'n':>5} {'bundles/s':>9} {'p50 ms':>8} {'p99 ms':>8} errors")
    print(_row("serial (1 in flight, baseline)", serial_puts, len(serial_ids)))
    print(_row(f"concurrent ({options.concurrency} in flight)", puts, len(rest)))
    for phase in (serial_puts, puts, serial, together):
        if phase.reasons:
            print(f"  {phase.name} errors: {dict(phase.reasons)}")
    print(
        f"one import (serial mean, end to end) {per_import * 1000:.0f} ms x {len(sent)} = "
        f"{projected:.1f} s; the same {len(sent)} at {options.concurrency} in flight: "
        f"{len(sent) / concurrent_rate:.1f} s; speed-up {concurrent_rate * per_import:.2f}x "
        f"(target {TARGET_SPEED_UP}x, 0 errors)"
    )


def main() -> None:
    """Make a scratch instance, run, clean up."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles", type=int, default=200, help="as in issue 19: 200 from 30")
    parser.add_argument("--senders", type=int, default=30)
    parser.add_argument("--serial", type=int, default=10, help="bundles imported one at a time")
    parser.add_argument("--concurrency", type=int, default=8, help="uploads in flight")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--postgres",
        default=POSTGRES,
        help="PostgreSQL server for a scratch database ('' for SQLite)",
    )
    parser.add_argument(
        "--broker", default=REDIS, help="Redis URL for the tasks the API queues ('' for none)"
    )
    options = parser.parse_args()
    if not 1 <= options.serial < options.bundles:
        parser.error("--serial must be at least 1 and below --bundles")
    with tempfile.TemporaryDirectory(prefix="sgx-september-") as folder:
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


if __name__ == "__main__":
    main()
