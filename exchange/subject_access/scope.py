"""What a request covers: the child's records here, received files with their provenance.

Everything the school holds about the child is in scope unless the requester asked for less
(dates or categories); anything the DSL leaves out afterwards needs a reason, as in a transfer.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.partners.models import Partner
from exchange.records.models import Incident, VaultDocument
from exchange.subject_access.models import SubjectAccessItem, SubjectAccessRequest

OUT_OF_DATES = "outside the dates the requester asked for"
OUT_OF_CATEGORIES = "outside the categories the requester asked for"


def build_scope(session: Session, request: SubjectAccessRequest) -> list[SubjectAccessItem]:
    """Create an item for every incident and document of the child, in or out of scope."""
    incidents = session.scalars(
        select(Incident).where(Incident.pupil_id == request.pupil_id).order_by(Incident.occurred_at)
    ).all()
    by_id = {incident.id: incident for incident in incidents}
    items = [
        _item(
            request,
            "incident",
            incident.id,
            incident.occurred_at,
            _categories(incident),
            _provenance(session, incident.school_id, incident.source_system),
        )
        for incident in incidents
    ]
    documents = session.scalars(
        select(VaultDocument)
        .where(VaultDocument.pupil_id == request.pupil_id)
        .order_by(VaultDocument.id)
    ).all()
    for document in documents:
        parent = by_id.get(document.incident_id or -1)
        items.append(
            _item(
                request,
                "document",
                document.id,
                parent.occurred_at if parent else document.created_at,
                _categories(parent) if parent else "Document",
                _provenance(session, document.school_id, document.source_system),
            )
        )
    session.add_all(items)
    session.flush()
    return items


def _item(
    request: SubjectAccessRequest,
    kind: str,
    object_id: int,
    occurred_at: datetime | None,
    category: str,
    provenance: str,
) -> SubjectAccessItem:
    reason = out_of_scope_reason(request, occurred_at, category)
    return SubjectAccessItem(
        school_id=request.school_id,
        request_id=request.id,
        pupil_id=request.pupil_id,
        kind=kind,
        object_id=object_id,
        included=reason is None,
        in_scope=reason is None,
        reason=reason,
        occurred_at=occurred_at,
        category=category[:420],
        provenance=provenance[:300],
    )


def out_of_scope_reason(
    request: SubjectAccessRequest, occurred_at: datetime | None, category: str
) -> str | None:
    """Return why a record is outside what the requester asked for, or None."""
    day: date | None = occurred_at.date() if occurred_at else None
    if day is not None and (
        (request.scope_from and day < request.scope_from)
        or (request.scope_to and day > request.scope_to)
    ):
        return OUT_OF_DATES
    wanted = [c.casefold() for c in request.scope_categories or []]
    have = [c.strip().casefold() for c in category.split(";")]
    if wanted and not any(h == w or h.startswith(w + "/") for h in have for w in wanted):
        return OUT_OF_CATEGORIES
    return None


def _categories(incident: Incident) -> str:
    return "; ".join(sorted(c.path for c in incident.categories)) or "Uncategorised"


def _provenance(session: Session, school_id: int, source_system: str | None) -> str:
    """Say where a record came from: this school, or the previous school that sent it."""
    if not source_system or not source_system.startswith("transfer:"):
        return "Recorded at this school"
    urn = source_system.split(":", 1)[1]
    name = session.scalar(
        select(Partner.name).where(Partner.school_id == school_id, Partner.urn == urn)
    )
    return f"Received from {name or 'a previous school'} (URN {urn})"


def select_item(item: SubjectAccessItem, included: bool, reason: str) -> None:
    """Include or leave out one record; leaving out what the requester asked for needs a reason."""
    reason = reason.strip()
    if not included and item.in_scope and not reason:
        raise ValidationError("say why this record is left out of the response")
    if included and not item.in_scope and not reason:
        raise ValidationError("say why a record outside the request is added")
    item.included = included
    item.reason = reason or (None if item.in_scope else item.reason)
