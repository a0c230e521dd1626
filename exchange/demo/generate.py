"""Generate the demo export: records.json data and vault PDF bytes, the same on every run.

Everything comes from a seeded Faker and seeded random numbers, placed relative to the
start of the current school year, so runs in the same school year give identical output.
"""

from __future__ import annotations

import hashlib
import random
import re
import textwrap
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker

from exchange.demo.pdfs import TextDocument, scan_pdf, text_pdf
from exchange.demo.people import (
    OTHER_USERS,
    RECEIVING,
    RECEIVING_USERS,
    SCHOOLS,
    SEED,
    SENDING,
    SENDING_STAFF,
    SOURCE_SYSTEM,
    DemoSchool,
    Person,
    make_people,
)
from exchange.demo.scenarios import PROFILES, SEXES, DocumentSpec, Event, Profile
from exchange.records.import_schema import FORMAT_NAME, FORMAT_VERSION
from exchange.records.upn import make_upn

LONDON = ZoneInfo("Europe/London")
HISTORY_YEARS = 3
_STAFF_REF = re.compile(r"\{staff:([a-z0-9-]+)\}")


@dataclass
class DemoPupil:
    """A generated pupil and the names its stories use."""

    id: str
    forename: str
    surname: str
    parent: str
    year: int
    date_of_birth: date
    upn: str
    profile: Profile

    @property
    def full_name(self) -> str:
        """Return forename and surname."""
        return f"{self.forename} {self.surname}"


@dataclass
class DemoData:
    """Everything the demo puts on an instance."""

    schools: tuple[DemoSchool, ...]
    users: dict[str, list[Person]]  # By school URN.
    records: dict[str, Any]  # records.json of the sending school.
    files: dict[str, bytes] = field(default_factory=dict)  # Export path -> bytes.


def school_year_start(today: date) -> date:
    """Return 1 September of the school year that today falls in."""
    year = today.year if today.month >= 9 else today.year - 1
    return date(year, 9, 1)


def generate_demo(today: date | None = None) -> DemoData:
    """Build the demo's schools, users, records and vault files."""
    start = school_year_start(today or date.today())
    fake = Faker("en_GB")
    fake.seed_instance(SEED)
    rng = random.Random(SEED)  # noqa: S311  (synthetic data, not secrets)
    staff = make_people(fake, SENDING, SENDING_STAFF + OTHER_USERS)
    users = {
        SENDING.urn: [person for person in staff if person.role],
        RECEIVING.urn: make_people(fake, RECEIVING, RECEIVING_USERS),
    }
    writers = [person for person in staff if person.key not in ("dpo", "admin")]
    taken = {person.forename for people in users.values() for person in people}
    taken |= {person.forename for person in writers}
    pupils = _make_pupils(fake, start, taken)
    data = DemoData(SCHOOLS, users, _records_head(writers, pupils, start))
    staff_names = {person.key: person.name for person in writers}
    for index, pupil in enumerate(pupils):
        _add_chronology(data, rng, pupil, index, pupils, staff_names, start)
    return data


def _make_pupils(fake: Faker, start: date, taken: set[str]) -> list[DemoPupil]:
    forenames: list[str] = []
    for sex in SEXES:
        name = fake.first_name_female() if sex == "F" else fake.first_name_male()
        while name in taken or name in forenames:
            name = fake.first_name_female() if sex == "F" else fake.first_name_male()
        forenames.append(name)
    surnames: list[str] = []
    for _ in PROFILES:
        surname = fake.last_name()
        while surname in surnames:
            surname = fake.last_name()
        surnames.append(surname)
    pupils: list[DemoPupil] = []
    for index, profile in enumerate(PROFILES):
        sibling = profile.links.get("sibling")
        if sibling is not None and sibling < index:
            surnames[index] = surnames[sibling]
        surname = surnames[index]
        reception = start.year - profile.year
        born = date(reception - 5, 9, 1) + timedelta(days=fake.random_int(0, 364))
        parent = (
            pupils[sibling].parent
            if sibling is not None and sibling < index
            else f"{fake.first_name_female()} {surname}"
        )
        pupils.append(
            DemoPupil(
                id=f"pupil-{index + 1:02d}",
                forename=forenames[index],
                surname=surname,
                parent=parent,
                year=profile.year,
                date_of_birth=born,
                upn=make_upn(SENDING.laestab, reception, 101 + index),
                profile=profile,
            )
        )
    return pupils


def _records_head(staff: list[Person], pupils: list[DemoPupil], start: date) -> dict[str, Any]:
    leaving = _weekday_on_or_before(date(start.year, 12, 18))
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "source_system": SOURCE_SYSTEM,
        "exported_at": datetime.combine(start, time(7, 0), LONDON).isoformat(),
        "school": {"urn": SENDING.urn, "laestab": SENDING.laestab, "name": SENDING.name},
        "staff": [
            {"id": f"staff-{person.key}", "name": person.name, "job_title": person.job_title}
            for person in staff
        ],
        "pupils": [_pupil_record(pupil, leaving) for pupil in pupils],
        "incidents": [],
        "documents": [],
    }


def _pupil_record(pupil: DemoPupil, leaving: date) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": pupil.id,
        "upn": pupil.upn,
        "forename": pupil.forename,
        "surname": pupil.surname,
        "date_of_birth": pupil.date_of_birth.isoformat(),
        "year_group": str(pupil.year),
    }
    if pupil.profile.leaving:
        record["leaving_date"] = leaving.isoformat()
        record["destination"] = {
            "urn": RECEIVING.urn,
            "laestab": RECEIVING.laestab,
            "name": RECEIVING.name,
        }
    return record


def _add_chronology(
    data: DemoData,
    rng: random.Random,
    pupil: DemoPupil,
    index: int,
    pupils: list[DemoPupil],
    staff: dict[str, str],
    start: date,
) -> None:
    names = {
        "child": pupil.forename,
        "child_full": pupil.full_name,
        "parent": pupil.parent,
    }
    for role, other in pupil.profile.links.items():
        names[role] = pupils[other].forename
        names[f"{role}_full"] = pupils[other].full_name
    first_day = max(date(start.year - pupil.year, 9, 1), date(start.year - HISTORY_YEARS, 9, 1))
    last_day = start - timedelta(days=7)
    for number, event in enumerate(pupil.profile.events, start=1):
        day = _weekday_on_or_before(first_day + (last_day - first_day) * event.at)
        occurred = datetime.combine(day, time(8, 40), LONDON) + timedelta(
            minutes=rng.randint(0, 400)
        )
        event_names = names | {"date": f"{day.day} {day:%B %Y}", "iso_date": day.isoformat()}
        incident_id = f"incident-{index + 1:02d}-{number:02d}"
        links = [pupils[pupil.profile.links[role]].id for role in event.linked]
        data.records["incidents"].append(
            _incident_record(incident_id, pupil, event, occurred, links, event_names, staff, rng)
        )
        if event.document is not None:
            _add_document(
                data,
                f"document-{index + 1:02d}-{number:02d}",
                pupil.id,
                incident_id,
                event.document,
                event_names,
                staff,
                staff[event.author],
                index * 100 + number,
            )


def _incident_record(
    incident_id: str,
    pupil: DemoPupil,
    event: Event,
    occurred: datetime,
    links: list[str],
    names: dict[str, str],
    staff: dict[str, str],
    rng: random.Random,
) -> dict[str, Any]:
    recorded = occurred + timedelta(minutes=rng.randint(20, 150))
    actions = []
    acted = recorded
    for number, (author, text) in enumerate(event.actions, start=1):
        acted = _later_in_school_hours(acted, rng)
        actions.append(
            {
                "id": f"{incident_id}-action-{number}",
                "text": render(text, names, staff),
                "author": f"staff-{author}",
                "acted_at": acted.isoformat(),
            }
        )
    record: dict[str, Any] = {
        "id": incident_id,
        "pupil": pupil.id,
        "occurred_at": occurred.isoformat(),
        "recorded_at": recorded.isoformat(),
        "categories": list(event.categories),
        "narrative": render(event.narrative, names, staff),
        "status": event.status,
        "author": f"staff-{event.author}",
        "linked_pupils": links,
        "agencies": list(event.agencies),
        "body_map": event.body_map,
        "actions": actions,
        "edits": [],
    }
    if event.edit is not None:
        record["edits"].append(
            _edit(record, event.edit, recorded + timedelta(hours=26), names, staff)
        )
    return record


def _edit(
    record: dict[str, Any],
    edit: tuple[str, str],
    edited_at: datetime,
    names: dict[str, str],
    staff: dict[str, str],
) -> dict[str, Any]:
    field_name, previous = edit
    current = record[field_name]
    if field_name == "categories":
        current = "; ".join(sorted(current))
    return {
        "edited_at": edited_at.isoformat(),
        "editor": "staff-dsl",
        "field": field_name,
        "previous_value": render(previous, names, staff),
        "new_value": current,
    }


def _add_document(
    data: DemoData,
    document_id: str,
    pupil_id: str,
    incident_id: str,
    spec: DocumentSpec,
    names: dict[str, str],
    staff: dict[str, str],
    author: str,
    seed: int,
) -> None:
    facts = [(key, render(value, names, staff)) for key, value in spec.facts]
    paragraphs = [render(paragraph, names, staff) for paragraph in spec.paragraphs]
    if spec.kind == "scan":
        lines = [spec.title, "", *(f"{key}: {value}" for key, value in facts), ""]
        for paragraph in paragraphs:
            lines += textwrap.wrap(paragraph, 64)
        content = scan_pdf(lines, seed)
    else:
        content = text_pdf(TextDocument(spec.title, author, facts, paragraphs))
    path = f"vault/{document_id}.pdf"
    data.files[path] = content
    data.records["documents"].append(
        {
            "id": document_id,
            "pupil": pupil_id,
            "incident": incident_id,
            "file": path,
            "filename": spec.filename.format(date=names["iso_date"]),
            "media_type": "application/pdf",
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
    )


def render(template: str, names: dict[str, str], staff: dict[str, str]) -> str:
    """Fill a story template with the pupil's, other pupils' and staff names."""
    text = _STAFF_REF.sub(lambda match: staff[match.group(1)], template)
    return text.format_map(names)


def _later_in_school_hours(moment: datetime, rng: random.Random) -> datetime:
    """Return a time 30 minutes to 3 hours later, moved to the next school day if after 5pm."""
    later = moment + timedelta(minutes=rng.randint(30, 180))
    if later.astimezone(LONDON).hour >= 17:
        day = later.astimezone(LONDON).date() + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        later = datetime.combine(day, time(8, 30), LONDON) + timedelta(minutes=rng.randint(0, 120))
    return later


def _weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day
