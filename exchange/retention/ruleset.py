"""Store and change a school's versioned rule set; every change recomputes and is audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.errors import NotFound, ValidationError
from exchange.records.models import Category
from exchange.retention.actors import Actor
from exchange.retention.models import RetentionRuleSet
from exchange.retention.rules import DEFAULT_KEY, RuleSet, parse_rule, parse_sender_copy

INHERIT = "inherit"


def current_rule_set(session: Session, school_id: int) -> RuleSet:
    """Return the school's latest rule set, or version 0 (the default rule only)."""
    row = session.scalars(
        select(RetentionRuleSet)
        .where(RetentionRuleSet.school_id == school_id)
        .order_by(RetentionRuleSet.version.desc())
        .limit(1)
    ).first()
    return RuleSet() if row is None else RuleSet.from_json(row.version, row.rules)


def save_rule_set(session: Session, school_id: int, rules: RuleSet, actor: Actor) -> RuleSet:
    """Store rules as the next version, recompute every record's date and audit the change."""
    from exchange.retention.assign import recompute_school

    previous = current_rule_set(session, school_id)
    saved = RuleSet(previous.version + 1, rules.default, rules.categories, rules.sender_copy_days)
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
        details={"version": saved.version, "records_redated": changed},
    )
    return saved


def set_category_rule(
    session: Session, school_id: int, path: str, rule: str, actor: Actor
) -> RuleSet:
    """Set the rule of a category subtree ('default' for the default; 'inherit' to remove)."""
    current = current_rule_set(session, school_id)
    path = path.strip()
    if path == DEFAULT_KEY:
        parse_rule(rule)
        return save_rule_set(
            session,
            school_id,
            RuleSet(current.version, rule, current.categories, current.sender_copy_days),
            actor,
        )
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
    return save_rule_set(
        session,
        school_id,
        RuleSet(current.version, current.default, categories, current.sender_copy_days),
        actor,
    )


def set_sender_copy(session: Session, school_id: int, value: object, actor: Actor) -> RuleSet:
    """Set what the sender keeps after a verified receipt: 'keep', or destroy after N days."""
    current = current_rule_set(session, school_id)
    days = parse_sender_copy(value)
    return save_rule_set(
        session,
        school_id,
        RuleSet(current.version, current.default, current.categories, days),
        actor,
    )
