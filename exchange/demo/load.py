"""Put the demo on an instance: schools, trees and users directly, records by the importer."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.db import transaction
from exchange.demo.generate import DemoData, generate_demo
from exchange.instance import Instance
from exchange.migrate import upgrade
from exchange.policy.service import apply_preset
from exchange.records.import_paths import RECORDS_FILE
from exchange.records.import_summary import ImportSummary
from exchange.records.importer import import_records
from exchange.records.models import (
    Category,
    Incident,
    IncidentAction,
    IncidentEdit,
    Pupil,
    School,
    StaffMember,
    User,
    VaultDocument,
)
from exchange.records.schools import add_school, add_user

COUNTED = {
    "categories": Category,
    "users": User,
    "staff": StaffMember,
    "pupils": Pupil,
    "incidents": Incident,
    "actions": IncidentAction,
    "edits": IncidentEdit,
    "documents": VaultDocument,
}


@dataclass(frozen=True)
class SchoolCounts:
    """What one demo school holds after loading."""

    urn: str
    laestab: str
    name: str
    preset: str
    counts: dict[str, int]
    leaving: int


def load_demo(instance: Instance, today: date | None = None) -> tuple[DemoData, ImportSummary]:
    """Create the demo schools, trees and users, then import the records export."""
    upgrade(
        instance.engine,
        instance_key=lambda: instance.instance_key,
        wrapping_key_dir=instance.wrapping_key_dir,
    )
    data = generate_demo(today)
    with transaction(instance.sessions) as session:
        for school in data.schools:
            row = add_school(session, school.urn, school.laestab, school.name)
            apply_preset(session, row, school.preset)
            for person in data.users[school.urn]:
                add_user(session, row, person.role or "", person.name, person.email)
        sending_id = session.scalar(
            select(School.id).where(School.urn == data.records["school"]["urn"])
        )
    with tempfile.TemporaryDirectory(prefix="sgx-demo-") as folder:
        write_export(data, Path(folder))
        summary = import_records(instance, sending_id, Path(folder))
    return data, summary


def write_export(data: DemoData, folder: Path) -> None:
    """Write records.json and the vault files into a folder, as the import format lays out."""
    (folder / RECORDS_FILE).write_text(json.dumps(data.records, indent=2, ensure_ascii=False))
    for path, content in data.files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def school_counts(session: Session, data: DemoData) -> list[SchoolCounts]:
    """Count the rows each demo school holds."""
    found = []
    for school in data.schools:
        row = session.scalar(select(School).where(School.urn == school.urn))
        if row is None:
            continue
        counts = {
            name: session.scalar(
                select(func.count()).select_from(model).where(model.school_id == row.id)
            )
            for name, model in COUNTED.items()
        }
        leaving = session.scalar(
            select(func.count())
            .select_from(Pupil)
            .where(Pupil.school_id == row.id, Pupil.leaving_date.is_not(None))
        )
        found.append(SchoolCounts(row.urn, row.laestab, row.name, school.preset, counts, leaving))
    return found
