"""The records.json format, version 1, as marshmallow schemas that load it into plain dicts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from exchange.errors import ValidationError as ExchangeValidationError
from exchange.records.import_errors import record_where
from exchange.records.import_paths import RECORDS_FILE, path_problem
from exchange.records.models import INCIDENT_STATUSES
from exchange.records.schools import validate_laestab, validate_urn
from exchange.records.upn import validate_upn

FORMAT_NAME = "safeguarding-exchange.records"
FORMAT_VERSION = 1
EDITABLE_FIELDS = (
    "narrative",
    "status",
    "occurred_at",
    "body_map",
    "agencies",
    "categories",
    "linked_pupils",
)
_TEXT_CONTROLS = {chr(code) for code in range(32) if chr(code) not in "\t\n\r"} | {"\x7f"}
_LINE_CONTROLS = _TEXT_CONTROLS | {"\t", "\n", "\r"}


def _no_controls(value: str) -> None:
    if any(char in _LINE_CONTROLS for char in value):
        raise ValidationError("must not contain control characters or line breaks")


def _no_binary(value: str) -> None:
    if any(char in _TEXT_CONTROLS for char in value):
        raise ValidationError("must not contain control characters")


def _line(max_length: int, *, required: bool = True, **kwargs: Any) -> fields.String:
    """Return a one-line text field of 1..max_length characters."""
    return fields.String(
        required=required,
        validate=[validate.Length(min=1, max=max_length), _no_controls],
        **kwargs,
    )


def _optional_line(max_length: int) -> fields.String:
    return _line(max_length, required=False, allow_none=True, load_default=None)


def _record_id(*, required: bool = True) -> fields.String:
    if required:
        return _line(100)
    return _optional_line(100)


class StrictBoolean(fields.Boolean):
    """A JSON true or false, nothing else."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:  # noqa: ARG002
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class _Checked(fields.String):
    """A string field normalised by one of the service's own validators."""

    check: Any = None

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return type(self).check(text)
        except ExchangeValidationError as exc:
            raise ValidationError(exc.message) from exc


class UPN(_Checked):
    """A Unique Pupil Number with a correct check letter."""

    check = staticmethod(validate_upn)


class URN(_Checked):
    """A school's URN: 6 digits."""

    check = staticmethod(validate_urn)


class LAESTAB(_Checked):
    """A school's LA and establishment number: 7 digits."""

    check = staticmethod(validate_laestab)


class ExportPath(fields.String):
    """A relative path of a file inside the export."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        path = super()._deserialize(value, attr, data, **kwargs)
        problem = path_problem(path)
        if problem:
            raise ValidationError(f"path {problem}")
        if path == RECORDS_FILE:
            raise ValidationError(f"a document cannot be {RECORDS_FILE}")
        return path


_TIME_MESSAGES = {
    "invalid": "must be an RFC 3339 time, e.g. 2024-03-01T09:15:00+00:00",
    "invalid_awareness": "must give its UTC offset (e.g. +01:00 or Z); a time without one is "
    "refused",
}
_DATE_MESSAGES = {"invalid": "must be a date written YYYY-MM-DD"}


def _time(*, required: bool = True) -> fields.AwareDateTime:
    """Return an RFC 3339 time field that refuses times without an offset."""
    if required:
        return fields.AwareDateTime(format="iso", required=True, error_messages=_TIME_MESSAGES)
    return fields.AwareDateTime(
        format="iso", allow_none=True, load_default=None, error_messages=_TIME_MESSAGES
    )


def _date(*, required: bool = True) -> fields.Date:
    """Return a calendar date field (YYYY-MM-DD)."""
    if required:
        return fields.Date(required=True, error_messages=_DATE_MESSAGES)
    return fields.Date(allow_none=True, load_default=None, error_messages=_DATE_MESSAGES)


class SchoolSchema(Schema):
    """The school the records belong to."""

    urn = URN(required=True)
    laestab = LAESTAB(required=True)
    name = _line(200)


class DestinationSchema(Schema):
    """The school a pupil moves to, as far as it is known."""

    urn = URN(allow_none=True, load_default=None)
    laestab = LAESTAB(allow_none=True, load_default=None)
    name = _optional_line(200)

    @validates_schema
    def _identified(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data.get("urn") and not data.get("laestab"):
            raise ValidationError("give the destination's urn or laestab (or both)")


class StaffSchema(Schema):
    """A member of staff who wrote or acted on records."""

    id = _record_id()
    name = _line(200)
    job_title = _optional_line(200)


class PupilSchema(Schema):
    """A child whose records are in the export."""

    id = _record_id()
    upn = UPN(required=True)
    forename = _line(100)
    surname = _line(100)
    preferred_name = _optional_line(100)
    other_names = fields.List(_line(100), load_default=list)
    date_of_birth = _date()
    year_group = _optional_line(10)
    leaving_date = _date(required=False)
    destination = fields.Nested(DestinationSchema, allow_none=True, load_default=None)


class ActionSchema(Schema):
    """A follow-up on an incident."""

    id = _record_id()
    text = fields.String(required=True, validate=[validate.Length(min=1), _no_binary])
    author = _record_id(required=False)
    acted_at = _time()


class EditSchema(Schema):
    """A change the source system recorded on an incident."""

    edited_at = _time()
    editor = _record_id(required=False)
    field = fields.String(required=True, validate=validate.OneOf(EDITABLE_FIELDS))
    previous_value = fields.String(allow_none=True, load_default=None, validate=_no_binary)
    new_value = fields.String(allow_none=True, load_default=None, validate=_no_binary)


class IncidentSchema(Schema):
    """One record about a child."""

    id = _record_id()
    pupil = _record_id()
    occurred_at = _time()
    recorded_at = _time()
    categories = fields.List(_line(420), required=True, validate=validate.Length(min=1))
    narrative = fields.String(required=True, validate=[validate.Length(min=1), _no_binary])
    status = fields.String(required=True, validate=validate.OneOf(INCIDENT_STATUSES))
    author = _record_id(required=False)
    linked_pupils = fields.List(_record_id(), load_default=list)
    agencies = fields.List(_line(200), load_default=list)
    body_map = StrictBoolean(load_default=False)
    edits = fields.List(fields.Nested(EditSchema), load_default=list)
    actions = fields.List(fields.Nested(ActionSchema), load_default=list)


class DocumentSchema(Schema):
    """A vault document and the file in the export that holds it."""

    id = _record_id()
    pupil = _record_id()
    incident = _record_id(required=False)
    file = ExportPath(required=True)
    filename = fields.String(
        required=True, validate=[validate.Length(min=1, max=255), _no_controls]
    )
    media_type = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$",
            error="must be a media type such as application/pdf",
        ),
    )
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    sha256 = fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9a-f]{64}$", error="must be 64 lower-case hex digits"),
    )


class RecordsSchema(Schema):
    """The whole records.json document; each record is loaded on its own by RECORD_SCHEMAS."""

    format = fields.String(required=True, validate=validate.Equal(FORMAT_NAME))
    version = fields.Integer(required=True, strict=True, validate=validate.Equal(FORMAT_VERSION))
    source_system = _line(100)
    exported_at = _time(required=False)
    school = fields.Nested(SchoolSchema, required=True)
    staff = fields.List(fields.Raw(), load_default=list)
    pupils = fields.List(fields.Raw(), load_default=list)
    incidents = fields.List(fields.Raw(), load_default=list)
    documents = fields.List(fields.Raw(), load_default=list)


# Each collection's records, in the order they are loaded and checked.
RECORD_SCHEMAS: dict[str, type[Schema]] = {
    "staff": StaffSchema,
    "pupils": PupilSchema,
    "incidents": IncidentSchema,
    "documents": DocumentSchema,
}


def schema_errors(errors: Any, raw: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Yield (where, message) pairs from marshmallow's nested errors, naming records by id."""
    if isinstance(errors, str):
        yield where or "records.json", errors
        return
    if isinstance(errors, list):
        for error in errors:
            yield from schema_errors(error, raw, where)
        return
    for key, nested in errors.items():
        if key == "_schema":
            yield from schema_errors(nested, raw, where)
        elif isinstance(key, int):
            item = raw[key] if isinstance(raw, list) and 0 <= key < len(raw) else None
            label = record_where(where, key, item)
            yield from schema_errors(nested, item, label)
        else:
            item = raw.get(key) if isinstance(raw, dict) else None
            yield from schema_errors(nested, item, f"{where}.{key}" if where else str(key))
