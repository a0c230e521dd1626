"""Benchmark: write and read a 300-incident chronology sealed with the pupil's key, and in clear.

Run on demand: `.venv/bin/python bench/sealing_bench.py [--incidents 300] [--runs 5]`.
Both run in the same SQLite database, in the same run: the service's models (names,
narratives and actions sealed with AES-GCM under the pupil's key) and a mirror of the same
tables with the same columns in clear. Prints the median of each and the ratio.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from faker import Faker
from sqlalchemy import Date, ForeignKey, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

import exchange.models  # noqa: F401  (every table and the sealing listeners)
from exchange.db import Base, transaction
from exchange.instance import Instance, open_instance
from exchange.records.models import Incident, IncidentAction, Pupil
from exchange.records.schools import add_school

ACTIONS_PER_INCIDENT = 2
START = datetime(2020, 9, 1, 9, tzinfo=UTC)


class ClearBase(DeclarativeBase):
    """The clear-text mirror's own metadata."""


class ClearPupil(ClearBase):
    """A pupil with the same fields, in clear."""

    __tablename__ = "bench_clear_pupils"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int]
    upn: Mapped[str] = mapped_column(String(13))
    forename: Mapped[str] = mapped_column(Text)
    surname: Mapped[str] = mapped_column(Text)
    date_of_birth: Mapped[date | None] = mapped_column(Date)


class ClearIncident(ClearBase):
    """An incident with its narrative in clear."""

    __tablename__ = "bench_clear_incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int]
    pupil_id: Mapped[int] = mapped_column(ForeignKey("bench_clear_pupils.id"), index=True)
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    narrative: Mapped[str] = mapped_column(Text)
    actions: Mapped[list[ClearAction]] = relationship()


class ClearAction(ClearBase):
    """An action with its text in clear."""

    __tablename__ = "bench_clear_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int]
    incident_id: Mapped[int] = mapped_column(ForeignKey("bench_clear_incidents.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    acted_at: Mapped[datetime]


def _texts(count: int) -> list[str]:
    fake = Faker("en_GB")
    Faker.seed(20261201)
    return [fake.paragraph(nb_sentences=8) for _ in range(count)]


def write(instance: Instance, school_id: int, texts: list[str], sealed: bool, run: int) -> int:
    """Add one pupil with a chronology, committed; return the pupil id."""
    models = (
        (Pupil, Incident, IncidentAction) if sealed else (ClearPupil, ClearIncident, ClearAction)
    )
    pupil_model, incident_model, action_model = models
    with transaction(instance.sessions) as session:
        pupil = pupil_model(
            school_id=school_id,
            upn=f"A{run:012d}",
            forename="Bench",
            surname=f"Pupil {run}",
            date_of_birth=date(2015, 1, 1),
        )
        session.add(pupil)
        session.flush()
        for number, narrative in enumerate(texts):
            moment = START + timedelta(days=number)
            incident = incident_model(
                school_id=school_id,
                pupil_id=pupil.id,
                occurred_at=moment,
                recorded_at=moment,
                narrative=narrative,
            )
            session.add(incident)
            for step in range(ACTIONS_PER_INCIDENT):
                acted = moment + timedelta(hours=step)
                incident.actions.append(
                    action_model(school_id=school_id, text=narrative[::-1], acted_at=acted)
                )
        return pupil.id


def read(instance: Instance, pupil_id: int, sealed: bool) -> int:
    """Load the pupil and their chronology with its actions; return the characters read."""
    pupil_model, incident_model = (Pupil, Incident) if sealed else (ClearPupil, ClearIncident)
    with instance.sessions() as session:
        pupil = session.get(pupil_model, pupil_id)
        incidents = session.scalars(
            select(incident_model)
            .where(incident_model.pupil_id == pupil_id)
            .order_by(incident_model.occurred_at)
            .options(selectinload(incident_model.actions))
        ).all()
        size = len(pupil.forename) + len(pupil.surname)
        for incident in incidents:
            size += len(incident.narrative) + sum(len(action.text) for action in incident.actions)
        return size


def _median(runs: int, work: Callable[[int], object]) -> float:
    times = []
    for run in range(runs):
        started = time.perf_counter()
        work(run)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    """Time writing and reading the chronology sealed and in clear, and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    texts = _texts(args.incidents)
    with tempfile.TemporaryDirectory(prefix="sgx-sealing-bench-") as folder:
        home = Path(folder)
        instance = open_instance(
            {
                "HOME": home,
                "DATABASE_URL": f"sqlite:///{home / 'bench.sqlite3'}",
                "INSTANCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            }
        )
        Base.metadata.create_all(instance.engine)
        ClearBase.metadata.create_all(instance.engine)
        with transaction(instance.sessions) as session:
            school_id = add_school(session, "123456", "9991234", "Bench School").id
        fields = args.incidents * (1 + ACTIONS_PER_INCIDENT)
        print(
            f"chronology: {args.incidents} incidents, {fields} sealed text fields, {args.runs} runs"
        )
        ids: dict[bool, list[int]] = {True: [], False: []}
        results = {}
        for sealed in (False, True):
            results[("write", sealed)] = _median(
                args.runs,
                lambda run, s=sealed: ids[s].append(write(instance, school_id, texts, s, run + 1)),
            )
            results[("read", sealed)] = _median(
                args.runs, lambda run, s=sealed: read(instance, ids[s][run], s)
            )
        for step in ("write", "read"):
            clear, sealed_time = results[(step, False)], results[(step, True)]
            print(
                f"  {step:5}: clear {clear * 1000:7.1f} ms   sealed {sealed_time * 1000:7.1f} ms"
                f"   ratio {sealed_time / clear:.2f}x"
                f"   (+{(sealed_time - clear) * 1e6 / fields:.0f} µs a field)"
            )
        instance.close()


if __name__ == "__main__":
    main()
