"""Change the rules safely: never below the floor; shortening needs the DPO and a notice period.

A change that keeps every record at least as long is saved at once. A change that makes any
record due earlier (a shorter rule on any category, or on the default, a sender copy kept
for less, a lower floor or one category fewer counted as SEN) needs a DPO who has just
confirmed their second factor; it is stored as pending, takes effect after the notice
period, and every DSL and DPO is emailed the forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.entry import MAX_DETAIL_STRING
from exchange.audit.refusals import refusal_event
from exchange.audit.service import record_event
from exchange.auth.permissions import refusal
from exchange.db import utcnow
from exchange.errors import NotFound, ValidationError
from exchange.records.models import Category, School
from exchange.retention.actors import SYSTEM, Actor
from exchange.retention.errors import BelowFloor, RetentionForbidden
from exchange.retention.floor import Floors, below_floor
from exchange.retention.impact import change_impact
from exchange.retention.models import (
    CHANGE_APPLIED,
    CHANGE_CANCELLED,
    CHANGE_PENDING,
    RetentionRuleChange,
)
from exchange.retention.rules import RuleSet, parse_rule
from exchange.retention.ruleset import current_rule_set, proposed_rules, save_rule_set
from exchange.retention.settings import retention_settings, same_value, save_setting

DEFAULT_NOTICE_DAYS = 30
UNCATEGORISED = "records in no category"


@dataclass(frozen=True)
class Outcome:
    """What a change did: saved at once (a version) or waiting (a pending change)."""

    saved: RuleSet | None = None
    pending: RetentionRuleChange | None = None


def _paths(session: Session, school_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Category.path).where(Category.school_id == school_id).order_by(Category.path)
        )
    )


def floor_refusal(old: RuleSet, new: RuleSet) -> str | None:
    """Return why a changed rule is below the floor of the records it names, or None.

    The default is checked against the child protection floor; a category's own rule against
    its class (SEN or child protection). A record a rule only reaches by inheritance is kept
    to its own class's floor anyway (RuleSet.rule_for_paths).
    """
    if new.default != old.default:
        reason = below_floor(new.floors, UNCATEGORISED, [], parse_rule(new.default))
        if reason:
            return reason
    for path, rule in sorted(new.categories.items()):
        if old.categories.get(path) != rule:
            reason = below_floor(new.floors, f"'{path}'", [path], parse_rule(rule))
            if reason:
                return reason
    return None


def lowers_floors(old: Floors, new: Floors) -> bool:
    """Return whether new floors keep some class for less, or count a category no more as SEN.

    Always a shortening, even when no record is in such a category today: one may be later.
    """
    kept = {name.casefold() for name in new.sen_categories}
    return (
        new.child_protection_years < old.child_protection_years
        or new.sen_years < old.sen_years
        or any(name.casefold() not in kept for name in old.sen_categories)
    )


def shortens(old: RuleSet, new: RuleSet, paths: list[str]) -> bool:
    """Return whether any record (in any category, or none) would be due earlier under new."""
    if lowers_floors(old.floors, new.floors):
        return True
    if any(new.years_for(p) < old.years_for(p) for p in [[path] for path in paths] + [[]]):
        return True
    old_copy, new_copy = old.sender_copy_days, new.sender_copy_days
    return new_copy is not None and (old_copy is None or new_copy < old_copy)


def shortens_change(session: Session, school_id: int, change: dict[str, object]) -> bool:
    """Return whether a change would make any record due earlier (False if it is invalid)."""
    try:
        new = proposed_rules(session, school_id, change)
    except (NotFound, ValidationError):
        return False
    return shortens(current_rule_set(session, school_id), new, _paths(session, school_id))


def _refuse(school_id: int, actor: Actor, event: str, reason: str, error: type) -> None:
    raise error(
        reason,
        audit=refusal_event(
            school_id,
            actor.user_id,
            actor.role,
            event,
            "school",
            str(school_id),
            None,
            reason[:200],
        ),
    )


def request_change(
    session: Session,
    school_id: int,
    change: dict[str, object],
    actor: Actor,
    *,
    fresh_second_factor: bool,
    today: date,
    notice_days: int = DEFAULT_NOTICE_DAYS,
) -> Outcome:
    """Save a change that shortens nothing; hold one that does for the notice period.

    A floor setting is the DPO's (set_disposal_mode), with a fresh second factor either way.
    """
    setting = change.get("kind") == "setting"
    reason = refusal(actor.role, "set_disposal_mode" if setting else "set_retention_rules")
    if reason is None and setting and not fresh_second_factor:
        reason = "Changing the retention settings needs the DPO to confirm their second factor"
    if reason:
        event = "retention.settings_change_refused" if setting else "retention.rules_change_refused"
        _refuse(school_id, actor, event, reason, RetentionForbidden)
    old = current_rule_set(session, school_id)
    new = proposed_rules(session, school_id, change)
    paths = _paths(session, school_id)
    reason = floor_refusal(old, new)
    if reason:
        _refuse(school_id, actor, "retention.rules_below_floor_refused", reason, BelowFloor)
    if not shortens(old, new, paths):
        return Outcome(saved=_save(session, school_id, change, new, actor, {"change": change}))
    reason = refusal(actor.role, "shorten_retention")
    if reason is None and not fresh_second_factor:
        reason = "Shortening retention needs the DPO to confirm their second factor first"
    if reason:
        reason += " (this change would make records due earlier)"
        _refuse(school_id, actor, "retention.rules_change_refused", reason, RetentionForbidden)
    effective_on = today + timedelta(days=notice_days)
    pending = RetentionRuleChange(
        school_id=school_id,
        change=change,
        state=CHANGE_PENDING,
        effective_on=effective_on,
        notice={},
        proposed_by_user_id=actor.user_id,
        proposed_at=utcnow(),
    )
    session.add(pending)
    session.flush()
    pending.notice = change_impact(session, school_id, old, new, effective_on)
    record_event(
        session,
        school_id,
        actor.user_id,
        actor.role,
        "retention.rules_change_scheduled",
        "retention_rule_change",
        str(pending.id),
        details={"effective_on": effective_on.isoformat(), "notice_days": notice_days},
    )
    return Outcome(pending=pending)


def _save(
    session: Session,
    school_id: int,
    change: dict[str, object],
    new: RuleSet,
    actor: Actor,
    details: dict[str, object],
) -> RuleSet:
    """Save a change: the next rule set version, or a floor setting of the school."""
    if change.get("kind") != "setting":
        return save_rule_set(session, school_id, new, actor, details)
    key = str(change["key"])
    save_setting(session, school_id, key, change["value"], actor, details)
    return current_rule_set(session, school_id)


def _moved_on(session: Session, school_id: int, change: dict[str, object]) -> str | None:
    """Return why a waiting setting change lapses: the setting changed meanwhile, or None."""
    if change.get("kind") != "setting" or "from" not in change:
        return None
    key = str(change["key"])
    now = retention_settings(session.get(School, school_id))[key]
    if same_value(key, now, change["from"]):
        return None
    return f"{key} was changed again during the notice period"


def pending_changes(session: Session, school_id: int) -> list[RetentionRuleChange]:
    """Return the school's changes still waiting out their notice period, oldest first."""
    return list(
        session.scalars(
            select(RetentionRuleChange)
            .where(
                RetentionRuleChange.school_id == school_id,
                RetentionRuleChange.state == CHANGE_PENDING,
            )
            .order_by(RetentionRuleChange.id)
        )
    )


def cancel_change(session: Session, school_id: int, change_id: int, actor: Actor) -> None:
    """Cancel a waiting change (the DPO); audit it."""
    reason = refusal(actor.role, "shorten_retention")
    if reason:
        _refuse(school_id, actor, "retention.rules_change_refused", reason, RetentionForbidden)
    row = session.get(RetentionRuleChange, change_id)
    if row is None or row.school_id != school_id:
        raise NotFound(f"no rule change {change_id} at this school")
    if row.state != CHANGE_PENDING:
        raise ValidationError(f"rule change {change_id} is no longer waiting ({row.state})")
    row.state, row.closed_by_user_id, row.closed_at = CHANGE_CANCELLED, actor.user_id, utcnow()
    record_event(
        session,
        school_id,
        actor.user_id,
        actor.role,
        "retention.rules_change_cancelled",
        "retention_rule_change",
        str(row.id),
    )


def apply_due_changes(session: Session, school_id: int, today: date) -> list[int]:
    """Apply each waiting change whose notice period is over; return their ids."""
    applied = []
    for row in pending_changes(session, school_id):
        if row.effective_on > today:
            continue
        old = current_rule_set(session, school_id)
        try:
            new = proposed_rules(session, school_id, dict(row.change))
            reason = floor_refusal(old, new) or _moved_on(session, school_id, dict(row.change))
        except (NotFound, ValidationError) as exc:
            reason = exc.message
        if reason:
            # The tree or the floors changed during the notice period: the change lapses.
            row.state, row.closed_at = CHANGE_CANCELLED, utcnow()
            record_event(
                session,
                school_id,
                None,
                SYSTEM.role,
                "retention.rules_change_lapsed",
                "retention_rule_change",
                str(row.id),
                details={"reason": reason[:MAX_DETAIL_STRING]},
            )
            continue
        details = {"change_id": row.id, "proposed_by_user_id": row.proposed_by_user_id}
        saved = _save(session, school_id, dict(row.change), new, SYSTEM, details)
        row.state, row.closed_at, row.applied_version = CHANGE_APPLIED, utcnow(), saved.version
        applied.append(row.id)
    return applied
