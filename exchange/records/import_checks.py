"""Check an export's records against each other, the school and what is already stored."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from exchange.records.import_errors import Problems, quote_id, record_where
from exchange.records.import_existing import Existing, match_pupil
from exchange.records.import_load import INVALID_IDS
from exchange.records.models import School

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class CheckContext:
    """What the records are checked against."""

    school: School
    existing: Existing
    now: datetime
    max_file_bytes: int

    @property
    def today(self) -> date:
        """Return today's date (UTC)."""
        return self.now.date()


def check_records(data: dict[str, Any], context: CheckContext, problems: Problems) -> None:
    """Record every inconsistency in the loaded records; the schema has checked the shapes."""
    _check_school(data["school"], context.school, problems)
    for collection in ("staff", "pupils", "incidents", "documents"):
        _check_unique_ids(collection, data[collection], problems)
    # References to records that failed the schema were reported with them; skip them here.
    invalid = data.get(INVALID_IDS, {})
    staff_ids = {member["id"] for member in data["staff"]} | invalid.get("staff", set())
    pupils: dict[str, dict[str, Any] | None] = dict.fromkeys(invalid.get("pupils", set()))
    pupils |= {pupil["id"]: pupil for pupil in data["pupils"]}
    _check_pupils(data["pupils"], context, problems)
    incidents: dict[str, dict[str, Any] | None] = dict.fromkeys(invalid.get("incidents", set()))
    incidents |= {incident["id"]: incident for incident in data["incidents"]}
    for index, incident in enumerate(data["incidents"]):
        where = record_where("incidents", index, incident)
        _check_incident(where, incident, pupils, staff_ids, context, problems)
    _check_documents(data["documents"], pupils, incidents, context, problems)


def _check_school(declared: dict[str, Any], school: School, problems: Problems) -> None:
    if declared["urn"] != school.urn:
        problems.add(
            "school.urn", f"is not the URN of the school being imported into ({school.urn})"
        )
    if declared["laestab"] != school.laestab:
        problems.add(
            "school.laestab",
            f"is not the LAESTAB of the school being imported into ({school.laestab})",
        )


def _check_unique_ids(collection: str, records: list[dict[str, Any]], problems: Problems) -> None:
    counts = Counter(record["id"] for record in records)
    first: dict[str, int] = {}
    for index, record in enumerate(records):
        if counts[record["id"]] > 1:
            if record["id"] in first:
                problems.add(
                    f"{record_where(collection, index, record)}.id",
                    f"is also the id of {collection}[{first[record['id']]}]",
                )
            else:
                first[record["id"]] = index


def _check_pupils(pupils: list[dict[str, Any]], context: CheckContext, problems: Problems) -> None:
    upns: dict[str, int] = {}
    for index, pupil in enumerate(pupils):
        where = record_where("pupils", index, pupil)
        if pupil["upn"] in upns:
            problems.add(f"{where}.upn", f"is also the UPN of pupils[{upns[pupil['upn']]}]")
        upns.setdefault(pupil["upn"], index)
        born = pupil["date_of_birth"]
        if born > context.today:
            problems.add(f"{where}.date_of_birth", "is in the future")
        if pupil["leaving_date"] is not None and pupil["leaving_date"] < born:
            problems.add(f"{where}.leaving_date", "is before the pupil's date of birth")
        existing = context.existing
        matched = match_pupil(existing, pupil["id"], pupil["upn"])
        holder = existing.pupils_by_upn.get(pupil["upn"])
        if holder is not None and holder is not matched:
            problems.add(
                f"{where}.upn",
                "already belongs to another pupil of this school "
                + (
                    f"(source id {quote_id(holder.source_id)})"
                    if holder.source_id
                    else "(created without a source id)"
                ),
            )


def _check_incident(
    where: str,
    incident: dict[str, Any],
    pupils: dict[str, dict[str, Any] | None],
    staff_ids: set[str],
    context: CheckContext,
    problems: Problems,
) -> None:
    pupil = pupils.get(incident["pupil"])
    if incident["pupil"] not in pupils:
        problems.add(f"{where}.pupil", f"no pupil has the id {quote_id(incident['pupil'])}")
    _check_staff(f"{where}.author", incident["author"], staff_ids, problems)
    for field in ("occurred_at", "recorded_at"):
        if incident[field] > context.now + CLOCK_SKEW:
            problems.add(f"{where}.{field}", "is in the future")
    if pupil is not None and incident["occurred_at"].date() < pupil["date_of_birth"]:
        problems.add(
            f"{where}.occurred_at",
            f"is before the date of birth of pupil {quote_id(pupil['id'])}",
        )
    for position, path in enumerate(incident["categories"]):
        if path not in context.existing.categories:
            problems.add(
                f"{where}.categories[{position}]",
                f"{quote_id(path)} is not a category of this school",
            )
    if len(set(incident["categories"])) != len(incident["categories"]):
        problems.add(f"{where}.categories", "names the same category twice")
    _check_linked(where, incident, pupils, problems)
    _check_actions(where, incident, staff_ids, context, problems)
    for position, edit in enumerate(incident["edits"]):
        _check_staff(f"{where}.edits[{position}].editor", edit["editor"], staff_ids, problems)
    _check_against_stored(where, incident, context, problems)


def _check_staff(where: str, staff_id: str | None, staff_ids: set[str], problems: Problems) -> None:
    if staff_id is not None and staff_id not in staff_ids:
        problems.add(where, f"no member of staff has the id {quote_id(staff_id)}")


def _check_linked(
    where: str,
    incident: dict[str, Any],
    pupils: dict[str, dict[str, Any] | None],
    problems: Problems,
) -> None:
    linked = incident["linked_pupils"]
    for position, pupil_id in enumerate(linked):
        if pupil_id not in pupils:
            problems.add(
                f"{where}.linked_pupils[{position}]", f"no pupil has the id {quote_id(pupil_id)}"
            )
        elif pupil_id == incident["pupil"]:
            problems.add(f"{where}.linked_pupils[{position}]", "is the incident's own pupil")
    if len(set(linked)) != len(linked):
        problems.add(f"{where}.linked_pupils", "names the same pupil twice")


def _check_actions(
    where: str,
    incident: dict[str, Any],
    staff_ids: set[str],
    context: CheckContext,
    problems: Problems,
) -> None:
    seen: dict[str, int] = {}
    stored = context.existing.incidents.get(incident["id"])
    stored_actions = {action.source_id: action for action in stored.actions} if stored else {}
    for position, action in enumerate(incident["actions"]):
        action_where = record_where(f"{where}.actions", position, action)
        if action["id"] in seen:
            problems.add(f"{action_where}.id", f"is also the id of actions[{seen[action['id']]}]")
        seen.setdefault(action["id"], position)
        _check_staff(f"{action_where}.author", action["author"], staff_ids, problems)
        if action["acted_at"] > context.now + CLOCK_SKEW:
            problems.add(f"{action_where}.acted_at", "is in the future")
        previous = stored_actions.get(action["id"])
        if previous is not None and previous.text != action["text"]:
            problems.add(
                f"{action_where}.text",
                "differs from the action imported before; an action cannot be rewritten, "
                "add a new one",
            )


def _check_against_stored(
    where: str, incident: dict[str, Any], context: CheckContext, problems: Problems
) -> None:
    stored = context.existing.incidents.get(incident["id"])
    if stored is None:
        return
    if stored.pupil.source_id != incident["pupil"]:
        problems.add(f"{where}.pupil", "differs from the incident imported before")
    if stored.recorded_at != incident["recorded_at"]:
        problems.add(f"{where}.recorded_at", "differs from the incident imported before")
    author = stored.author.source_id if stored.author else None
    if author != incident["author"]:
        problems.add(f"{where}.author", "differs from the incident imported before")


def _check_documents(
    documents: list[dict[str, Any]],
    pupils: dict[str, dict[str, Any] | None],
    incidents: dict[str, dict[str, Any] | None],
    context: CheckContext,
    problems: Problems,
) -> None:
    files: dict[str, int] = {}
    for index, document in enumerate(documents):
        where = record_where("documents", index, document)
        if document["pupil"] not in pupils:
            problems.add(f"{where}.pupil", f"no pupil has the id {quote_id(document['pupil'])}")
        incident_id = document["incident"]
        if incident_id is not None:
            incident = incidents.get(incident_id)
            if incident_id not in incidents:
                problems.add(f"{where}.incident", f"no incident has the id {quote_id(incident_id)}")
            elif incident is not None and incident["pupil"] != document["pupil"]:
                problems.add(f"{where}.incident", "is an incident about another pupil")
        if document["file"] in files:
            first = files[document["file"]]
            problems.add(f"{where}.file", f"is also the file of documents[{first}]")
        files.setdefault(document["file"], index)
        if document["size"] > context.max_file_bytes:
            problems.add(
                f"{where}.size", f"is larger than the limit of {context.max_file_bytes} bytes"
            )
        stored = context.existing.documents.get(document["id"])
        if stored is not None:
            if stored.sha256 != document["sha256"]:
                problems.add(
                    f"{where}.sha256",
                    "differs from the document imported before; a changed document needs a new id",
                )
            if stored.pupil.source_id != document["pupil"]:
                problems.add(f"{where}.pupil", "differs from the document imported before")
