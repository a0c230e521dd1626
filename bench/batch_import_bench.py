"""Benchmark September at the receiving school: importing a batch against importing one, times N.

    .venv/bin/python bench/batch_import_bench.py                          # 40 children, 6 schools
    .venv/bin/python bench/batch_import_bench.py --children 200 --senders 30

Each sending school starts a batch of its leavers, the receiving DSL accepts them all, each
sending DSL authorises its batch, and every bundle is delivered to the one receiving school.
Timed: the receiving school's handling of each upload (verify the signed upload, verify and
import the bundle all or nothing, sign the receipt, commit), as the time of the upload call
through its own web app in this process. The baseline, in the same run: one child from one
school into a fresh receiving school, best of --repeat, times N. Content is fictional (generated
names); keys are generated per run; SQLite in a temporary folder.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from exchange.db import transaction
from exchange.instance import Instance, open_instance
from exchange.migrate import upgrade
from exchange.packaging.keys import generate_keys
from exchange.partners.service import (
    confirm_partner,
    enrol_partner,
    find_partner,
    own_card,
    pending_safety_number,
)
from exchange.policy.service import apply_preset, find_category
from exchange.records.models import Incident, Pupil, School, StaffMember, User
from exchange.records.schools import add_school, add_user
from exchange.records.upn import make_upn
from exchange.transfers import batch as batches
from exchange.transfers import states
from exchange.transfers.actors import Actor
from exchange.transfers.client import Reply, WsgiTransport
from exchange.transfers.delivery import deliver, partner_url, send_countersignature
from exchange.transfers.models import INCOMING, OUTGOING, Transfer
from exchange.web import create_app

CATEGORY = "Bullying Allegation"  # Transferable in the bretherton preset.


class TimedTransport(WsgiTransport):
    """Deliver through the app in this process, timing each bundle upload (the import)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.upload_seconds: list[float] = []

    def put_file(self, url: str, path: Path, headers: dict[str, str]) -> Reply:
        """PUT a bundle and record how long the receiving school took to take it."""
        started = time.perf_counter()
        reply = super().put_file(url, path, headers)
        self.upload_seconds.append(time.perf_counter() - started)
        return reply


def _school(session: Any, instance: Instance, number: int) -> School:
    school = add_school(session, f"{980000 + number}", f"{9980000 + number}", f"School {number}")
    generate_keys(session, school.id, instance.instance_key)
    apply_preset(session, school, "bretherton")
    add_user(session, school, "dsl", f"Dsl {number}", f"dsl{number}@example.org")
    return school


def _dsl(session: Any, school: School) -> User:
    return session.scalars(select(User).filter_by(school_id=school.id, role="dsl")).one()


def _introduce(session: Any, school: School, other: School, url: str) -> None:
    partner = enrol_partner(session, school.id, own_card(session, other, url))
    confirm_partner(
        session, partner, pending_safety_number(session, partner), _dsl(session, school)
    )


def _leavers(session: Any, school: School, receiver: School, numbers: range) -> list[Pupil]:
    staff = StaffMember(school_id=school.id, source_system="b", source_id="s", name="Teacher Oak")
    session.add(staff)
    category = find_category(session, school, CATEGORY)
    made = []
    for number in numbers:
        forename = "Ker" + "".join(chr(97 + int(digit)) for digit in str(number))  # Unique.
        pupil = Pupil(
            school_id=school.id,
            upn=make_upn(school.laestab, 26, number),
            forename=forename.capitalize(),
            surname=f"Number{number}",
            date_of_birth=date(2015, 9, 1) + timedelta(days=number),
            leaving_date=date(2027, 7, 21),
        )
        session.add(pupil)
        session.flush()
        incident = Incident(
            school_id=school.id,
            pupil_id=pupil.id,
            occurred_at=datetime(2027, 3, 1, 10, tzinfo=UTC),
            recorded_at=datetime(2027, 3, 1, 12, tzinfo=UTC),
            narrative=f"{pupil.forename} said an older pupil took her lunch.",
            status="closed",
            author=staff,
        )
        incident.categories.append(category)
        session.add(incident)
        session.add(
            Pupil(
                school_id=receiver.id,
                upn=pupil.upn,
                forename=pupil.forename,
                surname=pupil.surname,
                date_of_birth=pupil.date_of_birth,
            )
        )
        made.append(pupil)
    session.flush()
    return made


def _post(transport: WsgiTransport, posts: list[tuple[str, str]], status: int) -> None:
    for url, token in posts:
        reply = transport.post(url, token)
        assert reply.status == status, reply


def prepare(instance: Instance, transport: WsgiTransport, senders: int, children: int) -> list[int]:
    """Take `children` leavers of `senders` schools to authorised at one receiver; return ids."""
    url = instance.config["PUBLIC_URL"]
    with transaction(instance.sessions) as session:
        receiver = _school(session, instance, 0)
        for number in range(senders):
            sender = _school(session, instance, number + 1)
            _introduce(session, sender, receiver, url)
            _introduce(session, receiver, sender, url)
            share = range(number * children // senders + 1, (number + 1) * children // senders + 1)
            leavers = _leavers(session, sender, receiver, share)
            partner = find_partner(session, sender.id, receiver.urn)
            _batch, outcomes = batches.create_batch(
                session, instance, sender, Actor.of(_dsl(session, sender)),
                [(leaver, partner) for leaver in leavers], source="list",
            )  # fmt: skip
            assert all(o.done and not o.message for o in outcomes), outcomes
        receiver_id = receiver.id
        sent = list(session.scalars(select(Transfer).where(Transfer.direction == OUTGOING)))
        offers = [(partner_url(t, "offers"), t.offer_jws or "") for t in sent]
    _post(transport, offers, 202)
    with transaction(instance.sessions) as session:
        receiver = session.get(School, receiver_id)
        offered = list(
            session.scalars(
                select(Transfer).where(
                    Transfer.school_id == receiver_id, Transfer.direction == INCOMING
                )
            )
        )
        answers = [batches.Answer(t, "accept", True) for t in offered]
        outcomes = batches.answer_offers(
            session, instance, Actor.of(_dsl(session, receiver)), answers
        )
        assert all(o.done for o in outcomes), outcomes
        responses = [(partner_url(t, "offer-responses"), t.response_jws or "") for t in offered]
    _post(transport, responses, 200)
    with transaction(instance.sessions) as session:
        mine = list(session.scalars(select(Transfer).where(Transfer.direction == OUTGOING)))
        for transfer in mine:
            dsl = Actor.of(_dsl(session, session.get(School, transfer.school_id)))
            talk = batches.Conversation(transfer, date.today(), "Both DSLs", "No concerns.")
            assert batches.record_conversations(session, instance, dsl, [talk])[0].done
            authorised = batches.take_each(
                session, instance, [transfer], "authorise", dsl, fresh_second_factor=True
            )
            assert authorised[0].done, authorised
        return [t.id for t in mine]


def import_all(instance: Instance, transport: TimedTransport, ids: list[int]) -> None:
    """Deliver every authorised bundle (the receiver imports each) and countersign it."""
    for transfer_id in ids:
        for step in (deliver, send_countersignature):
            with transaction(instance.sessions) as session:
                step(session, instance, session.get(Transfer, transfer_id), transport)
    with instance.sessions() as session:
        closed = session.scalars(
            select(Transfer.id).where(
                Transfer.direction == INCOMING, Transfer.state == states.CLOSED
            )
        ).all()
    assert len(closed) == len(ids), (len(closed), len(ids))


def run_case(senders: int, children: int) -> list[float]:
    """Return the receiving school's seconds for each upload, in a fresh instance."""
    with tempfile.TemporaryDirectory(prefix="sgx-batch-bench-") as folder:
        home = Path(folder)
        instance = open_instance(
            {
                "HOME": home,
                "DATABASE_URL": f"sqlite:///{home / 'bench.sqlite3'}",
                "INSTANCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            }
        )
        upgrade(instance.engine)
        app = create_app(dict(instance.config))
        try:
            transport = TimedTransport(app)
            started = time.perf_counter()
            ids = prepare(instance, transport, senders, children)
            setup = time.perf_counter() - started
            print(f"  setup ({children} children to authorised): {setup:.1f} s", flush=True)
            import_all(instance, transport, ids)
            return transport.upload_seconds
        finally:
            app.extensions["exchange"].close()
            instance.close()


def main() -> None:
    """Run the batch and the single import; print both and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, default=40, help="children in the batch")
    parser.add_argument("--senders", type=int, default=6, help="sending schools")
    parser.add_argument("--repeat", type=int, default=3, help="single imports (best of)")
    args = parser.parse_args()
    if args.senders < 1 or args.children < args.senders:
        sys.exit("need at least one sending school and one child per school")
    print(f"batch: {args.children} children from {args.senders} schools into one school")
    uploads = run_case(args.senders, args.children)
    total = sum(uploads)
    print(
        f"  receiving school: {total:.2f} s for {len(uploads)} imports "
        f"(mean {statistics.mean(uploads) * 1000:.0f} ms, median "
        f"{statistics.median(uploads) * 1000:.0f} ms, slowest {max(uploads) * 1000:.0f} ms)"
    )
    singles = []
    for _ in range(args.repeat):
        singles.extend(run_case(1, 1))
    single = min(singles)
    baseline = single * args.children
    print(
        f"one child into a fresh school: best {single * 1000:.0f} ms of {args.repeat} "
        f"(times {args.children}: {baseline:.2f} s)"
    )
    print(f"batch / (one x {args.children}): {total / baseline:.2f}")


if __name__ == "__main__":
    main()
