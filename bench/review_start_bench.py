"""Benchmark the start of the redaction review: the request returns at once, the task redacts.

    .venv/bin/python bench/review_start_bench.py              # 300 incidents, and 1
    .venv/bin/python bench/review_start_bench.py --quick      # 30 incidents, and 1
    .venv/bin/python bench/review_start_bench.py --incidents 1000

A generated child (fictional names) with incidents naming other children, each with an
action, and the kit's one vault PDF. For each size the same transfer is reviewed three ways,
in the same run: "start_review" with the texts redacted in the request (the old path, still
used by a batch's own task as `redact_texts_now`), "start_review" as the web page now takes it
(POST /transfers/<id>/review through the app, the texts left to the task), and the vault task
that then redacts the texts and the document in the background. The one-incident child is the
same-run baseline: the request should cost about the same whatever the number of incidents
(a repeated review also deletes the previous review's texts and reviews in the request).
"""

from __future__ import annotations

import argparse
import base64
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "web")]  # The kits.

from flow import csrf_token  # noqa: E402
from sqlalchemy import select  # noqa: E402
from transfer_kit import (  # noqa: E402
    SUBJECT,
    actor,
    child_with_records,
    introduce,
    school_with_keys,
)
from web_kit import sign_in, web_settings  # noqa: E402

from exchange.db import transaction  # noqa: E402
from exchange.instance import Instance, open_instance  # noqa: E402
from exchange.migrate import upgrade  # noqa: E402
from exchange.outbox.service import written_in  # noqa: E402
from exchange.partners.service import find_partner  # noqa: E402
from exchange.records.models import (  # noqa: E402
    Incident,
    IncidentAction,
    Pupil,
    StaffMember,
    User,
)
from exchange.records.upn import make_upn  # noqa: E402
from exchange.transfers import workflow  # noqa: E402
from exchange.transfers.models import Transfer  # noqa: E402
from exchange.transfers.vault_task import redact_vault  # noqa: E402

FORENAMES = ["Amara", "Callum", "Darcey", "Eliot", "Fenella", "Gideon", "Hattie", "Idris",
             "Juniper", "Kit", "Lorcan", "Marnie"]  # fmt: skip
SURNAMES = ["Ashdown", "Brackley", "Cotterell", "Dunmore", "Elsworth", "Fairbairn", "Greaves",
            "Hollins", "Ibbotson", "Jessop", "Kirkwood", "Lathom"]  # fmt: skip
WORDS = ["was", "seen", "near", "the", "gate", "at", "break", "and", "said", "her", "bag"]


def make_child(instance: Instance, incidents: int) -> dict[str, int]:
    """Make two schools, the leaving child with `incidents` incidents, and other children."""
    url = instance.config["PUBLIC_URL"]
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        introduce(session, sender, receiver, url)
        introduce(session, receiver, sender, url)
        subject, _other = child_with_records(session, instance, sender)  # One incident, one PDF.
        others = []
        for n, (forename, surname) in enumerate(zip(FORENAMES, SURNAMES, strict=True)):
            session.add(
                Pupil(
                    school_id=sender.id,
                    upn=make_upn(sender.laestab, 24, 10 + n),
                    forename=forename,
                    surname=surname,
                    date_of_birth=date(2016, 1 + n, 1 + n),
                )
            )
            others.append(f"{forename} {surname}")
        kit = session.scalars(select(Incident).filter_by(pupil_id=subject.id)).one()
        staff = session.scalars(select(StaffMember).filter_by(school_id=sender.id)).first()
        rng = random.Random(3)
        start = datetime(2024, 9, 2, 9, 0, tzinfo=UTC)
        for n in range(incidents - 1):
            lines = [
                f"{rng.choice(others)} {' '.join(rng.sample(WORDS, 8))}." if k % 2 == 0 else
                f"{SUBJECT[0]} {' '.join(rng.sample(WORDS, 9))}."
                for k in range(4)
            ]  # fmt: skip
            incident = Incident(
                school_id=sender.id,
                pupil_id=subject.id,
                occurred_at=start + timedelta(days=n * 2),
                recorded_at=start + timedelta(days=n * 2, hours=2),
                narrative=" ".join(lines),
                status="open",
                author=staff,
            )
            incident.categories.extend(kit.categories)
            session.add(incident)
            session.flush()
            session.add(
                IncidentAction(
                    school_id=sender.id,
                    incident_id=incident.id,
                    text=f"Spoke to {rng.choice(others)}'s parents.",
                    author=staff,
                    acted_at=incident.occurred_at + timedelta(hours=4),
                )
            )
        dsl_id = session.scalar(select(User.id).filter_by(school_id=sender.id, role="dsl"))
        partner = find_partner(session, sender.id, receiver.urn)
        transfer = workflow.start(
            session, instance, sender, "create", actor(session, dsl_id),
            pupil=subject, partner=partner,
        )  # fmt: skip
        return {"transfer": transfer.id, "dsl": dsl_id}


def _seconds(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _in_request(instance: Instance, child: dict[str, int], now: bool) -> list[int]:
    """Take start_review in one transaction, as a request does; return the outbox rows."""
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, child["transfer"])
        dsl = actor(session, child["dsl"])
        inputs = {"redact_texts_now": True} if now else {}
        workflow.apply(session, instance, transfer, "start_review", dsl, **inputs)
        return written_in(session)


def _back(instance: Instance, child: dict[str, int]) -> None:
    redact_vault(instance, child["transfer"], workers=1)  # Whatever is queued, then a new start.
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, child["transfer"])
        workflow.apply(session, instance, transfer, "back_to_draft", actor(session, child["dsl"]))


def measure(incidents: int, repeat: int) -> dict[str, float]:
    """Return the median seconds of each way of starting the review of one generated child."""
    from exchange.web import create_app

    with tempfile.TemporaryDirectory(prefix="sgx-review-") as folder:
        work = Path(folder)
        instance = open_instance(
            {
                "HOME": work / "home",
                "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
                "INSTANCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
                "LOG_LEVEL": "WARNING",
                "VAULT_WORKERS": 1,
            }
        )
        upgrade(instance.engine)
        app = create_app(web_settings(instance))
        app.extensions["task_runner"] = lambda *_row: None  # The worker's part is timed apart.
        times: dict[str, list[float]] = {"old": [], "web": [], "task": []}
        try:
            child = make_child(instance, incidents)
            client = app.test_client()
            sign_in(client, instance, child["dsl"])
            token = csrf_token(client)
            for _ in range(repeat):
                times["old"].append(_seconds(lambda: _in_request(instance, child, True)))
                _back(instance, child)
                url = f"/transfers/{child['transfer']}/review"
                started = time.perf_counter()
                answer = client.post(url, data={"csrf_token": token})
                times["web"].append(time.perf_counter() - started)
                assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
                times["task"].append(
                    _seconds(lambda: redact_vault(instance, child["transfer"], workers=1))
                )
                with transaction(instance.sessions) as session:
                    transfer = session.get(Transfer, child["transfer"])
                    assert transfer.incidents_done == incidents
                    workflow.apply(
                        session, instance, transfer, "back_to_draft", actor(session, child["dsl"])
                    )
        finally:
            app.extensions["exchange"].close()
            instance.close()
    return {key: statistics.median(values) for key, values in times.items()}


def main() -> int:
    """Measure the review's start for the one-incident baseline and the large child; print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 incidents")
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="median of this many runs")
    args = parser.parse_args()
    incidents = 30 if args.quick else args.incidents
    one = measure(1, args.repeat)
    many = measure(incidents, args.repeat)
    print(f"start of the redaction review, median of {args.repeat} (1 vault PDF each):")
    print(f"  {'':<58} {'1 incident':>11} {f'{incidents} incidents':>15}")
    rows = (
        ("old: start_review, texts redacted in the request", "old"),
        ("now: POST /transfers/<id>/review (texts queued)", "web"),
        ("now: the vault task (texts, then the document)", "task"),
    )
    for label, key in rows:
        print(f"  {label:<58} {one[key]:9.3f} s {many[key]:13.3f} s")
    print(
        f"request now / old, {incidents} incidents = {many['web'] / many['old']:.3f}; "
        f"request now, {incidents} / 1 incident = {many['web'] / one['web']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
