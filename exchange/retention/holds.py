"""Legal holds on a pupil, an incident or a category subtree; only a DPO releases one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.refusals import refusal_event
from exchange.audit.service import record_event
from exchange.auth.permissions import refusal
from exchange.db import utcnow
from exchange.errors import NotFound, ValidationError
from exchange.records.models import Category, Incident, Pupil
from exchange.retention.actors import Actor
from exchange.retention.errors import RetentionForbidden
from exchange.retention.models import HOLD_SCOPES, LegalHold
from exchange.retention.rules import path_covers
from exchange.subject_access.models import SubjectAccessRequest

MAX_REASON = 2000
LEGAL_HOLD = "legal hold"
OPEN_REQUEST = "open subject access request"
# A request holds the child's file from logging until it is closed or refused: the response
# is built from the records, and a complaint to the ICO needs them as they were.
REQUEST_ENDED = ("closed", "refused")


@dataclass(frozen=True)
class ActiveHolds:
    """What the school's unreleased holds cover, to test records against."""

    pupil_ids: frozenset[int] = frozenset()
    incident_ids: frozenset[int] = frozenset()
    category_paths: tuple[str, ...] = field(default_factory=tuple)
    requested_pupil_ids: frozenset[int] = frozenset()

    def covers_paths(self, paths: Iterable[str]) -> bool:
        """Return whether any of these category paths is under a held category."""
        return any(path_covers(held, path) for held in self.category_paths for path in paths)

    def covers_incident(self, pupil_id: int, incident_id: int, paths: Iterable[str]) -> bool:
        """Return whether an incident is held by its pupil, itself or one of its categories."""
        return bool(self.reasons(pupil_id, incident_id, paths))

    def reasons(self, pupil_id: int, incident_id: int, paths: Iterable[str]) -> tuple[str, ...]:
        """Return why an incident is held: a legal hold, an open subject access request, both."""
        found = []
        if (
            pupil_id in self.pupil_ids
            or incident_id in self.incident_ids
            or self.covers_paths(paths)
        ):
            found.append(LEGAL_HOLD)
        if pupil_id in self.requested_pupil_ids:
            found.append(OPEN_REQUEST)
        return tuple(found)


def active_holds(session: Session, school_id: int) -> ActiveHolds:
    """Return what the school's unreleased holds and open subject access requests cover."""
    holds = session.scalars(
        select(LegalHold).where(LegalHold.school_id == school_id, LegalHold.released_at.is_(None))
    ).all()
    requested = session.scalars(
        select(SubjectAccessRequest.pupil_id).where(
            SubjectAccessRequest.school_id == school_id,
            SubjectAccessRequest.state.not_in(REQUEST_ENDED),
        )
    )
    return ActiveHolds(
        frozenset(h.pupil_id for h in holds if h.scope == "pupil" and h.pupil_id is not None),
        frozenset(h.incident_id for h in holds if h.scope == "incident" and h.incident_id),
        tuple(
            sorted({h.category_path for h in holds if h.scope == "category" and h.category_path})
        ),
        frozenset(requested),
    )


def _reason(text: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise ValidationError("a hold needs a reason")
    if len(reason) > MAX_REASON:
        raise ValidationError(f"a reason is at most {MAX_REASON} characters")
    return reason


def _check_target(session: Session, school_id: int, scope: str, target: str) -> dict[str, object]:
    if scope not in HOLD_SCOPES:
        raise ValidationError(f"a hold is on one of {', '.join(HOLD_SCOPES)}, not {scope!r}")
    if scope == "category":
        category_id = session.scalar(
            select(Category.id).where(Category.school_id == school_id, Category.path == target)
        )
        if category_id is None:
            raise NotFound(f"no category {target!r} in this school's tree")
        return {"category_path": target}
    if not str(target).isdigit():
        raise ValidationError(f"a {scope} hold names the {scope} by its id")
    model = Pupil if scope == "pupil" else Incident
    row = session.get(model, int(target))
    if row is None or row.school_id != school_id:
        raise NotFound(f"no {scope} {target} at this school")
    return {f"{scope}_id": int(target)}


def place_hold(
    session: Session, school_id: int, scope: str, target: str | int, reason: str, actor: Actor
) -> LegalHold:
    """Place a hold on a pupil id, an incident id or a category path; audit it."""
    _require(school_id, actor, "place_holds", "retention.hold_place_refused", str(target))
    fields = _check_target(session, school_id, scope, str(target).strip())
    hold = LegalHold(
        school_id=school_id,
        scope=scope,
        reason=_reason(reason),
        placed_by_user_id=actor.user_id,
        placed_at=utcnow(),
        **fields,
    )
    session.add(hold)
    session.flush()
    details: dict[str, object] = {"scope": scope}
    if scope == "category":
        details["category_id"] = session.scalar(
            select(Category.id).where(Category.school_id == school_id, Category.path == target)
        )
    else:
        details[f"{scope}_id"] = int(target)
    record_event(
        session,
        school_id,
        actor.user_id,
        actor.role,
        "retention.hold_placed",
        "legal_hold",
        str(hold.id),
        details=details,
    )
    return hold


def release_hold(
    session: Session, school_id: int, hold_id: int, reason: str, actor: Actor
) -> LegalHold:
    """Release a hold: only a DPO may, with a reason; audit it."""
    _require(school_id, actor, "release_holds", "retention.hold_release_refused", str(hold_id))
    hold = session.get(LegalHold, hold_id)
    if hold is None or hold.school_id != school_id:
        raise NotFound(f"no hold {hold_id} at this school")
    if hold.released_at is not None:
        raise ValidationError(f"hold {hold_id} was already released")
    hold.release_reason = _reason(reason)
    hold.released_by_user_id = actor.user_id
    hold.released_at = utcnow()
    session.flush()
    record_event(
        session,
        school_id,
        actor.user_id,
        actor.role,
        "retention.hold_released",
        "legal_hold",
        str(hold.id),
        details={"scope": hold.scope},
    )
    return hold


def list_holds(
    session: Session, school_id: int, *, include_released: bool = False
) -> list[LegalHold]:
    """Return the school's holds, newest first."""
    query = select(LegalHold).where(LegalHold.school_id == school_id)
    if not include_released:
        query = query.where(LegalHold.released_at.is_(None))
    return list(session.scalars(query.order_by(LegalHold.placed_at.desc(), LegalHold.id.desc())))


def _require(school_id: int, actor: Actor, permission: str, event: str, target: str) -> None:
    """Raise RetentionForbidden, carrying its audit event, unless the table allows the role."""
    reason = refusal(actor.role, permission)
    if reason is None:
        return
    raise RetentionForbidden(
        reason,
        audit=refusal_event(
            school_id, actor.user_id, actor.role, event, "legal_hold", target, None, reason
        ),
    )
