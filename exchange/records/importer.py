"""Import a records export: check everything first, then write it all in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.db import transaction, utcnow
from exchange.errors import NotFound, ValidationError
from exchange.instance import Instance
from exchange.logs import get_logger
from exchange.records.history import EDITOR_KEY
from exchange.records.import_apply import Writer
from exchange.records.import_checks import CheckContext, check_records
from exchange.records.import_errors import ImportRejected, Problem, Problems
from exchange.records.import_existing import load_existing
from exchange.records.import_files import check_files
from exchange.records.import_load import load_records
from exchange.records.import_source import ExportSource, Limits, open_export
from exchange.records.import_summary import ImportSummary
from exchange.records.models import School
from exchange.records.scoping import scope_session
from exchange.vault.store import blob_batch

Tick = Callable[[int], None]
# A progress reporter: given a label, a total and a unit, yields a function to advance it.
Progress = Callable[[str, int, str], AbstractContextManager[Tick]]

log = get_logger("records.import")


@contextmanager
def no_progress(_label: str, _total: int, _unit: str) -> Iterator[Tick]:
    """Report no progress."""
    yield lambda _amount: None


def import_records(
    instance: Instance,
    school_id: int,
    path: Path,
    *,
    progress: Progress = no_progress,
    now: datetime | None = None,
) -> ImportSummary:
    """Import an export folder or zip into a school, all or nothing; raise ImportRejected."""
    now = now or utcnow()
    limits = Limits.from_config(instance.config)
    with (
        open_export(Path(path), limits) as source,
        blob_batch(instance.blobs) as batch,
        transaction(instance.sessions) as session,
    ):
        scope_session(session, school_id)
        session.info["edited_at"] = now
        session.info[EDITOR_KEY] = None
        data, context = _check(session, school_id, source, limits, now, progress)
        writer = Writer(
            session=session,
            school_id=school_id,
            source_system=data["source_system"],
            existing=context.existing,
            source=source,
            batch=batch,
            instance_key=instance.instance_key,
            max_file_bytes=limits.max_file_bytes,
            tick=lambda _amount: None,
            summary=ImportSummary(),
        )
        summary = _write(writer, data, progress)
        counts = {
            f"{kind}_{outcome}": number
            for kind, outcomes in summary.as_dict().items()
            for outcome, number in outcomes.items()
        }
        record_event(
            session,
            school_id,
            None,
            "operator",
            "records.imported",
            "import",
            data["source_system"],
            details=counts,
        )
    log.info("records imported", extra={"school_id": school_id, "counts": summary.as_dict()})
    return summary


def _write(writer: Writer, data: dict[str, Any], progress: Progress) -> ImportSummary:
    """Write the checked records with a progress bar; report late failures as problems."""
    total = sum(len(data[kind]) for kind in ("staff", "pupils", "incidents", "documents"))
    total += sum(len(item["actions"]) + len(item["edits"]) for item in data["incidents"])
    with progress("importing", total, "records") as tick:
        writer.tick = tick
        try:
            return writer.write(data)
        except ImportRejected:
            raise
        except ValidationError as exc:
            raise ImportRejected([Problem(exc.where or "export", exc.message)]) from exc


def _check(
    session: Session,
    school_id: int,
    source: ExportSource,
    limits: Limits,
    now: datetime,
    progress: Progress,
) -> tuple[dict[str, Any], CheckContext]:
    """Return the loaded records and their context, or raise with every problem found."""
    school = session.get(School, school_id)
    if school is None:
        raise NotFound("no such school on this instance")
    problems = Problems()
    raw = source.read_records()
    problems.extend(source.problems)
    data = load_records(raw, problems) if raw is not None else None
    if data is None:
        problems.raise_if_any()
        raise ImportRejected([Problem("records.json", "cannot be read")])
    existing = load_existing(session, school_id, data["source_system"])
    context = CheckContext(school, existing, now, limits.max_file_bytes)
    check_records(data, context, problems)
    if not any(problem.where == "export" for problem in source.problems):
        # Skipped when the export is over its caps: its listing is incomplete.
        total = sum(min(size, limits.max_file_bytes) for size in source.entries.values())
        with progress("checking files", total, "B") as tick:
            check_files(source, data["documents"], limits.max_file_bytes, problems, tick)
    problems.raise_if_any()
    return data, context
