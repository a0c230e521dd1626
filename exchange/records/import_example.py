"""Build records exports with generated people, for the documentation example and the tests."""

from __future__ import annotations

import copy
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from faker import Faker
from sqlalchemy.orm import Session

from exchange.records.import_paths import RECORDS_FILE
from exchange.records.import_schema import FORMAT_NAME, FORMAT_VERSION
from exchange.records.models import Category, School
from exchange.records.schools import add_school
from exchange.records.upn import make_upn

EXAMPLE_SCHOOL = {"urn": "100001", "laestab": "8012001", "name": "Meadowbank Primary School"}
# Paths of the "bretherton" preset, so the documented example imports into a new school that
# applied it (docs/import-format.md, "Try the example").
EXAMPLE_PRESET = "bretherton"
EXAMPLE_CATEGORIES = (
    "Home related issues",
    "Home related issues/Safeguarding incident",
    "Attendance/Internal Monitoring",
    "Bullying Allegation/Online",
    "Medical",
)


def add_example_school(session: Session, school: dict[str, str] | None = None) -> School:
    """Create the example school with the categories the example uses; return it."""
    school = school or EXAMPLE_SCHOOL
    row = add_school(session, school["urn"], school["laestab"], school["name"])
    parents: dict[str, Category] = {}
    for position, path in enumerate(EXAMPLE_CATEGORIES):
        top, _, sub = path.partition("/")
        if top not in parents:
            parents[top] = Category(school_id=row.id, name=top, path=top, position=position)
            session.add(parents[top])
        if sub:
            session.add(
                Category(
                    school_id=row.id,
                    parent=parents[top],
                    name=sub,
                    path=path,
                    position=position,
                )
            )
    session.flush()
    return row


@dataclass
class ExportBuilder:
    """An export under construction: records.json plus the bytes of each vault file."""

    school: dict[str, str] = field(default_factory=lambda: dict(EXAMPLE_SCHOOL))
    source_system: str = "example-mis"
    seed: int = 2024
    records: dict[str, Any] = field(init=False)
    files: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Start an empty export for the school."""
        self.faker = Faker("en_GB")
        self.faker.seed_instance(self.seed)
        self.records = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "source_system": self.source_system,
            "exported_at": "2025-06-30T16:00:00+01:00",
            "school": dict(self.school),
            "staff": [],
            "pupils": [],
            "incidents": [],
            "documents": [],
        }

    def add_staff(self, job_title: str = "Designated Safeguarding Lead") -> dict[str, Any]:
        """Add a member of staff with a generated name."""
        staff_id = f"s-{len(self.records['staff']) + 1}"
        member = {"id": staff_id, "name": self.faker.name(), "job_title": job_title}
        self.records["staff"].append(member)
        return member

    def add_pupil(self, born: date = date(2015, 3, 2), **extra: Any) -> dict[str, Any]:
        """Add a pupil with a generated name and a valid UPN for the school."""
        serial = len(self.records["pupils"]) + 1
        pupil = {
            "id": f"p-{serial}",
            "upn": make_upn(self.school["laestab"], 15, serial),
            "forename": self.faker.first_name(),
            "surname": self.faker.last_name(),
            "preferred_name": None,
            "other_names": [],
            "date_of_birth": born.isoformat(),
            "year_group": "5",
            "leaving_date": None,
            "destination": None,
        } | extra
        self.records["pupils"].append(pupil)
        return pupil

    def add_incident(
        self,
        pupil: dict[str, Any],
        author: dict[str, Any] | None = None,
        occurred_at: datetime | str = "2024-11-04T10:20:00+00:00",
        **extra: Any,
    ) -> dict[str, Any]:
        """Add an incident about a pupil, with one action by the author."""
        serial = len(self.records["incidents"]) + 1
        when = occurred_at if isinstance(occurred_at, str) else occurred_at.isoformat()
        author_id = author["id"] if author else None
        incident = {
            "id": f"i-{serial}",
            "pupil": pupil["id"],
            "occurred_at": when,
            "recorded_at": _later(when, hours=2),
            "categories": ["Home related issues/Safeguarding incident"],
            "narrative": self.faker.paragraph(nb_sentences=3),
            "status": "open",
            "author": author_id,
            "linked_pupils": [],
            "agencies": ["Children's social care"],
            "body_map": False,
            "edits": [],
            "actions": [
                {
                    "id": f"a-{serial}-1",
                    "text": "Referral made to the local authority front door.",
                    "author": author_id,
                    "acted_at": _later(when, hours=3),
                }
            ],
        } | extra
        self.records["incidents"].append(incident)
        return incident

    def add_document(
        self,
        pupil: dict[str, Any],
        content: bytes | None = None,
        incident: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add a vault document and its file (generated text unless content is given)."""
        serial = len(self.records["documents"]) + 1
        if content is None:
            content = f"Meeting minutes {serial}\n{self.faker.paragraph()}\n".encode()
        path = f"files/d-{serial}.txt"
        self.files[path] = content
        document = {
            "id": f"d-{serial}",
            "pupil": pupil["id"],
            "incident": incident["id"] if incident else None,
            "file": path,
            "filename": f"minutes-{serial}.txt",
            "media_type": "text/plain",
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        } | extra
        self.records["documents"].append(document)
        return document

    def snapshot(self) -> dict[str, Any]:
        """Return a deep copy of the records, to edit into a variant."""
        return copy.deepcopy(self.records)

    def write_folder(self, folder: Path) -> Path:
        """Write records.json and the files into a folder; return the folder."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / RECORDS_FILE).write_text(json.dumps(self.records, indent=2) + "\n")
        for name, content in self.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return folder

    def write_zip(self, path: Path) -> Path:
        """Write the export as a zip; return its path."""
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(RECORDS_FILE, json.dumps(self.records, indent=2) + "\n")
            for name, content in self.files.items():
                archive.writestr(name, content)
        return path


def _later(when: str, hours: int) -> str:
    return (datetime.fromisoformat(when) + timedelta(hours=hours)).isoformat()


def example_export() -> ExportBuilder:
    """Return the documentation's example: two pupils, one linked, with documents."""
    builder = ExportBuilder()
    dsl = builder.add_staff()
    teacher = builder.add_staff("Class teacher")
    child = builder.add_pupil(
        leaving_date="2025-07-18",
        destination={"urn": "100002", "laestab": "8014002", "name": "Hillcrest Academy"},
    )
    other = builder.add_pupil(born=date(2014, 11, 20))
    first = builder.add_incident(child, teacher, linked_pupils=[other["id"]])
    first["edits"] = [
        {
            "edited_at": "2024-11-05T09:00:00+00:00",
            "editor": dsl["id"],
            "field": "status",
            "previous_value": "open",
            "new_value": "closed",
        }
    ]
    first["status"] = "closed"
    builder.add_incident(
        child,
        dsl,
        occurred_at="2025-02-10T08:45:00+00:00",
        categories=["Attendance/Internal Monitoring"],
    )
    builder.add_document(child, incident=first)
    builder.add_document(child)
    return builder


if __name__ == "__main__":  # pragma: no cover
    import sys

    example_export().write_folder(Path(sys.argv[1]))
