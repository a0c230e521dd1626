"""Measure the DPO's audit explorer on a large log: one page by filter, and a child's CSV.

Run on demand: `python bench/audit_explorer_bench.py [--entries N] [--postgres URL]`. The log
is written in bulk (synthetic entries: 40 staff, 2,000 pupils with a transfer each, events
spread over a year). The baseline, measured in the same run, reads the newest 50 rows of
the table with no filter and no parsing.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

import exchange.models  # Every table and listener.
import exchange.retention.models  # noqa: F401  (the retention tables)
from exchange.audit.entry import build_entry, canonical_bytes
from exchange.audit.explorer import AuditFilter, ChildObjects, all_matching, explore
from exchange.audit.models import AuditEntry, AuditEntryActor
from exchange.db import Base, transaction
from exchange.instance import open_instance
from exchange.records.schools import add_school

STAFF = 40
PUPILS = 2_000
EVENTS = ("record.viewed", "transfer.offered", "document.opened", "retention.hold_placed")
START = datetime(2026, 1, 1, 8, tzinfo=UTC)
CHUNK = 20_000
BACKFILL = importlib.import_module("exchange.migrations.versions.0025_audit_entry_actors")


def _rows(school_id: int, count: int) -> list[dict[str, object]]:
    rows = []
    for seq in range(count):
        moment = START + timedelta(minutes=seq * (525_600 // max(count, 1)) + seq % 7)
        kind = "pupil" if seq % 2 else "transfer"
        object_id = str(seq % PUPILS + 1) if kind == "pupil" else f"t-{seq % PUPILS + 1:05d}"
        entry = build_entry(
            seq=seq, school=school_id, time=moment, actor_user=seq % STAFF + 1,
            actor_role="dsl", event=EVENTS[seq % len(EVENTS)], object_type=kind,
            object_id=object_id, request=None, details={"page": "bench"},
        )  # fmt: skip
        rows.append(
            {
                "school_id": school_id, "seq": seq, "recorded_at": moment,
                "event": entry["event"], "object_type": kind, "object_id": object_id,
                "canonical": canonical_bytes(entry), "leaf_hash": b"\0" * 32, "frontier": b"",
            }
        )  # fmt: skip
    return rows


def _best(action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def run(entries: int, database_url: str | None) -> None:
    """Build the log and print each query's best-of-three time beside the baseline."""
    with tempfile.TemporaryDirectory(prefix="sgx-explorer-bench-") as folder:
        home = Path(folder)
        key = secrets.token_bytes(32)
        instance = open_instance(
            {
                "HOME": home,
                "DATABASE_URL": database_url or f"sqlite:///{home / 'bench.sqlite3'}",
                "INSTANCE_KEY": base64.b64encode(key).decode(),
            }
        )
        try:
            Base.metadata.drop_all(instance.engine)
            Base.metadata.create_all(instance.engine)
            with transaction(instance.sessions) as session:
                school_id = add_school(session, "123456", "9991234", "Bench School").id
            started = time.perf_counter()
            rows = _rows(school_id, entries)
            with transaction(instance.sessions) as session:
                for first in range(0, len(rows), CHUNK):
                    session.execute(insert(AuditEntry), rows[first : first + CHUNK])
            print(f"  {entries:,} entries written in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            with instance.engine.begin() as connection:  # What migration 0025 does once.
                BACKFILL._fill(connection, AuditEntryActor.__table__)
            spent = time.perf_counter() - started
            print(f"  acting-user index back-filled (migration 0025) in {spent:.1f} s")
            child = ChildObjects(
                "X",
                "pref1_bench",
                8,
                {"pupil": frozenset({"8"}), "transfer": frozenset({"t-00007"})},
            )
            cases = {
                "first page, no filter": AuditFilter(),
                "one event": AuditFilter(event="record.viewed"),
                "one month": AuditFilter(since=date(2026, 6, 1), until=date(2026, 6, 30)),
                "one person": AuditFilter(user_id=5),
                "one child": AuditFilter(child=child),
            }
            with instance.sessions() as session:
                newest = (
                    select(AuditEntry.seq, AuditEntry.canonical)
                    .where(AuditEntry.school_id == school_id)
                    .order_by(AuditEntry.seq.desc())
                    .limit(50)
                )
                baseline = _best(lambda: session.execute(newest).all())
                print(f"  {'baseline: newest 50 rows':<34} {baseline * 1e3:9.1f} ms")
                for name, wanted in cases.items():
                    spent = _best(lambda w=wanted: explore(session, school_id, key, w))
                    found = explore(session, school_id, key, wanted).total
                    print(
                        f"  {name:<34} {spent * 1e3:9.1f} ms  ({found:,} match, "
                        f"x{spent / baseline:.0f} the baseline)"
                    )
                spent = _best(lambda: all_matching(session, school_id, key, cases["one child"]))
                print(f"  {'CSV of one child (all entries)':<34} {spent * 1e3:9.1f} ms")
        finally:
            instance.close()


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL instead of a SQLite file")
    args = parser.parse_args()
    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(f"audit explorer over {args.entries:,} entries ({engine})")
    run(args.entries, args.postgres)


if __name__ == "__main__":
    main()
