"""Write checked records: create what is new, record edits for what changed, skip the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from exchange.records.import_errors import ImportRejected, Problem, record_where
from exchange.records.import_existing import Existing, match_pupil
from exchange.records.import_source import BoundedReader, ExportSource
from exchange.records.import_summary import ImportSummary
from exchange.records.models import (
    Incident,
    IncidentAction,
    IncidentEdit,
    Pupil,
    StaffMember,
    VaultDocument,
)
from exchange.vault.pupil_keys import blob_context, pupil_data_key
from exchange.vault.store import BlobBatch

PUPIL_FIELDS = ("upn", "forename", "surname", "date_of_birth")
OPTIONAL_PUPIL_FIELDS = ("preferred_name", "year_group", "leaving_date")
TRACKED_INCIDENT_FIELDS = ("narrative", "status", "occurred_at", "body_map", "agencies")


@dataclass
class Writer:
    """Apply one checked export to the session and the blob batch, counting outcomes."""

    session: Session
    school_id: int
    source_system: str
    existing: Existing
    source: ExportSource
    batch: BlobBatch
    instance_key: bytes
    max_file_bytes: int
    tick: Callable[[int], None]
    summary: ImportSummary

    def write(self, data: dict[str, Any]) -> ImportSummary:
        """Write staff, pupils, incidents and documents in that order."""
        staff = {member["id"]: self._staff(member) for member in data["staff"]}
        pupils = {pupil["id"]: self._pupil(pupil) for pupil in data["pupils"]}
        self.session.flush()
        incidents = {
            incident["id"]: self._incident(incident, pupils, staff)
            for incident in data["incidents"]
        }
        self.session.flush()
        for index, document in enumerate(data["documents"]):
            self._document(index, document, pupils, incidents)
        self.session.flush()
        return self.summary

    def _outcome(self, kind: str, created: bool, changed: bool) -> None:
        self.summary.count(kind, "created" if created else "updated" if changed else "unchanged")
        self.tick(1)

    def _staff(self, record: dict[str, Any]) -> StaffMember:
        member = self.existing.staff.get(record["id"])
        created = member is None
        if member is None:
            member = StaffMember(
                school_id=self.school_id, source_system=self.source_system, source_id=record["id"]
            )
            self.session.add(member)
        changed = _assign(member, {"name": record["name"], "job_title": record["job_title"]})
        self._outcome("staff", created, changed)
        return member

    def _pupil(self, record: dict[str, Any]) -> Pupil:
        pupil = match_pupil(self.existing, record["id"], record["upn"])
        created = pupil is None
        if pupil is None:
            pupil = Pupil(school_id=self.school_id)
            self.session.add(pupil)
        values = {field: record[field] for field in PUPIL_FIELDS}
        values |= {"source_system": self.source_system, "source_id": record["id"]}
        # An optional value the export leaves out keeps what is stored (e.g. from a CTF).
        values |= {field: record[field] for field in OPTIONAL_PUPIL_FIELDS if record[field]}
        if record["other_names"]:
            values["other_names"] = record["other_names"]
        if destination := record["destination"]:
            values |= {
                "destination_urn": destination["urn"],
                "destination_laestab": destination["laestab"],
                "destination_name": destination["name"],
            }
        changed = _assign(pupil, values)
        self._outcome("pupils", created, changed)
        return pupil

    def _incident(
        self,
        record: dict[str, Any],
        pupils: dict[str, Pupil],
        staff: dict[str, StaffMember],
    ) -> Incident:
        incident = self.existing.incidents.get(record["id"])
        created = incident is None
        categories = [self.existing.categories[path] for path in record["categories"]]
        linked = [pupils[pupil_id] for pupil_id in record["linked_pupils"]]
        if incident is None:
            incident = Incident(
                school_id=self.school_id,
                pupil=pupils[record["pupil"]],
                source_system=self.source_system,
                source_id=record["id"],
                recorded_at=record["recorded_at"],
                author=staff.get(record["author"] or ""),
                categories=categories,
                linked_pupils=linked,
            )
            self.session.add(incident)
            changed = False
        else:
            changed = self._record_list_change(incident, "categories", categories, "path")
            changed |= self._record_list_change(incident, "linked_pupils", linked, "source_id")
        # The history listener turns each change of a tracked field into an IncidentEdit.
        changed |= _assign(incident, {field: record[field] for field in TRACKED_INCIDENT_FIELDS})
        self._actions(incident, record["actions"], staff)
        self._edits(incident, record["edits"], staff)
        self._outcome("incidents", created, changed and not created)
        return incident

    def _record_list_change(self, incident: Incident, field: str, new: list[Any], key: str) -> bool:
        """Replace a list relation, keeping the old and new values as an edit."""
        old = getattr(incident, field)
        before = sorted(getattr(row, key) or "" for row in old)
        after = sorted(getattr(row, key) or "" for row in new)
        if before == after:
            return False
        self.session.add(
            IncidentEdit(
                incident=incident,
                school_id=self.school_id,
                edited_at=self.session.info["edited_at"],
                editor_id=None,
                field=field,
                previous_value="; ".join(before),
                new_value="; ".join(after),
            )
        )
        setattr(incident, field, new)
        return True

    def _actions(
        self, incident: Incident, actions: list[dict[str, Any]], staff: dict[str, StaffMember]
    ) -> None:
        stored = {action.source_id for action in incident.actions} if incident.id else set()
        for record in actions:
            if record["id"] in stored:
                self._outcome("actions", created=False, changed=False)
                continue
            incident.actions.append(
                IncidentAction(
                    school_id=self.school_id,
                    source_id=record["id"],
                    text=record["text"],
                    author=staff.get(record["author"] or ""),
                    acted_at=record["acted_at"],
                )
            )
            self._outcome("actions", created=True, changed=False)

    def _edits(
        self, incident: Incident, edits: list[dict[str, Any]], staff: dict[str, StaffMember]
    ) -> None:
        stored = {_edit_key(edit) for edit in incident.edits} if incident.id else set()
        for record in edits:
            editor = staff.get(record["editor"] or "")
            edit = IncidentEdit(
                school_id=self.school_id,
                edited_at=record["edited_at"],
                editor_id=editor.id if editor else None,
                field=record["field"],
                previous_value=record["previous_value"],
                new_value=record["new_value"],
            )
            if _edit_key(edit) in stored:
                self._outcome("edits", created=False, changed=False)
                continue
            incident.edits.append(edit)
            self._outcome("edits", created=True, changed=False)

    def _document(
        self,
        index: int,
        record: dict[str, Any],
        pupils: dict[str, Pupil],
        incidents: dict[str, Incident],
    ) -> None:
        if record["id"] in self.existing.documents:
            self._outcome("documents", created=False, changed=False)
            return
        pupil = pupils[record["pupil"]]
        key = pupil_data_key(self.session, pupil, self.instance_key)
        where = record_where("documents", index, record)
        with self.source.open(record["file"]) as handle:
            reader = BoundedReader(handle, record["size"], f"{where}.file")
            blob = self.batch.write(key, blob_context(pupil), reader, self.max_file_bytes)  # type: ignore[arg-type]
        if (blob.size, blob.sha256) != (record["size"], record["sha256"]):
            # The file changed between the check and the write: refuse rather than store it.
            raise ImportRejected([Problem(f"{where}.file", "changed while it was being imported")])
        incident = incidents.get(record["incident"] or "")
        self.session.add(
            VaultDocument(
                school_id=self.school_id,
                pupil=pupil,
                incident_id=incident.id if incident else None,
                source_system=self.source_system,
                source_id=record["id"],
                original_filename=record["filename"],
                media_type=record["media_type"],
                size=blob.size,
                sha256=blob.sha256,
                storage_key=blob.storage_key,
            )
        )
        self._outcome("documents", created=True, changed=False)


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set the values that differ; return whether any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _edit_key(edit: IncidentEdit) -> tuple[Any, ...]:
    return (
        edit.edited_at,
        edit.editor_id,
        edit.field,
        edit.previous_value,
        edit.new_value,
    )
