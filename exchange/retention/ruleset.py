"""Store and change a school's versioned rule set; every change recomputes and is audited.

A change that keeps any record for less needs the DPO and waits out the notice period
(exchange.retention.changes); one that keeps records as long or longer is saved at once.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.errors import NotFound, ValidationError
from exchange.records.models import Category
from exchange.retention.actors import Actor
from exchange.retention.models import RetentionRuleSet
from exchange.retention.rules import DEFAULT_KEY, RuleSet, parse_rule, parse_sender_copy
from exchange.retention.settings import checked_change, floors_with, school_floors

INHERIT = "inherit"


def current_rule_set(session: Session, school_id: int) -> RuleSet:
    """Return the school's latest rule set, or version 0 (the default rule only)."""
    row = session.scalars(
        select(RetentionRuleSet)
        .where(RetentionRuleSet.school_id == school_id)
        .order_by(RetentionRuleSet.version.desc())
        .limit(1)
    ).first()
    rules = RuleSet() if row is None else RuleSet.from_json(row.version, row.rules)
    return replace(rules, floors=school_floors(session, school_id))


def save_rule_set(
    session: Session,
    school_id: int,
    rules: RuleSet,
    actor: Actor,
    details: dict[str, object] | None = None,
) -> RuleSet:
    """Store rules as the next version, recompute every record's date and audit the change."""
    from exchange.retention.assign import recompute_school

    previous = current_rule_set(session, school_id)
    saved = replace(rules, version=previous.version + 1, floors=previous.floors)
    session.add(
        RetentionRuleSet(
            school_id=school_id,
            version=saved.version,
            rules=saved.to_json(),
            created_by_user_id=actor.user_id,
        )
    )
    session.flush()
    changed = recompute_school(session, school_id, saved)
    record_event(
        session,
        school_id,
        actor.user_id,
        actor.role,
        "retention.rules_changed",
        "retention_rule_set",
        str(saved.version),
        details={"version": saved.version, "records_redated": changed, **(details or {})},
    )
    return saved


def proposed_rules(
    session: Session, school_id: int, change: dict[str, object], base: RuleSet | None = None
) -> RuleSet:
    """Return the current rules (or base) with one change applied.

    A change sets a category's rule (or the default), the sender copy, or a floor setting.
    """
    current = base if base is not None else current_rule_set(session, school_id)
    if change.get("kind") == "setting":
        key = str(change.get("key"))
        value = checked_change(key, change.get("value"))
        return replace(current, floors=floors_with(current.floors, key, value))
    if change.get("kind") == "sender_copy":
        return replace(current, sender_copy_days=parse_sender_copy(change.get("value")))
    path, rule = str(change.get("path", "")).strip(), str(change.get("rule", "")).strip()
    if path == DEFAULT_KEY:
        parse_rule(rule)
        return replace(current, default=rule)
    exists = session.scalar(
        select(Category.id).where(Category.school_id == school_id, Category.path == path)
    )
    if exists is None:
        raise NotFound(f"no category {path!r} in this school's tree")
    categories = dict(current.categories)
    if rule == INHERIT:
        if categories.pop(path, None) is None:
            raise ValidationError(f"category {path!r} has no rule of its own")
    else:
        parse_rule(rule)
        categories[path] = rule
    return replace(current, categories=categories)


def category_change(path: str, rule: str) -> dict[str, object]:
    """Return the change that sets a category's rule ('default'; 'inherit' to drop it)."""
    return {"kind": "category", "path": path.strip(), "rule": rule.strip()}


def sender_copy_change(value: object) -> dict[str, object]:
    """Return the change that sets what the sender keeps after a verified receipt."""
    days = parse_sender_copy(value)
    return {"kind": "sender_copy", "value": "keep" if days is None else days}
