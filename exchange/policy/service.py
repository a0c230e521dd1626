"""Build and edit a school's category tree and resolve what each category transfers as.

Stored values of ``Category.transfer_class``: a transfer class; ``None`` on a top-level
category for "not transferred" and on a subcategory for "as its parent"; and ``"none"``
(NOT_TRANSFERRED) on a subcategory that stays behind although its parent transfers.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.errors import NotFound, ValidationError
from exchange.policy.classes import INHERIT, NOT_TRANSFERRED, validate_transfer_class
from exchange.policy.presets import load_preset
from exchange.records.models import Category, Incident, School


@dataclass(frozen=True)
class AppliedPreset:
    """What applying a preset did to a school's tree."""

    preset: str
    created: int
    remapped: int
    unchanged: int


def category_path(name: str, parent: Category | None = None) -> str:
    """Return the path of a category: its name, or its parent's name, a slash and its name."""
    return name if parent is None else f"{parent.path}/{name}"


def school_categories(session: Session, school: School) -> list[Category]:
    """Return every category of the school, in tree order (parents before children)."""
    rows = session.scalars(
        select(Category)
        .where(Category.school_id == school.id)
        .order_by(Category.position, Category.id)
    ).all()
    tops = [row for row in rows if row.parent_id is None]
    ordered: list[Category] = []
    for top in tops:
        ordered.append(top)
        ordered.extend(row for row in rows if row.parent_id == top.id)
    return ordered


def find_category(session: Session, school: School, path: str) -> Category:
    """Return the school's category with exactly this path, or raise NotFound."""
    category = session.scalar(
        select(Category).where(Category.school_id == school.id, Category.path == path.strip())
    )
    if category is None:
        raise NotFound(f"no category {path.strip()!r} in this school's tree")
    return category


def add_category(
    session: Session,
    school: School,
    name: str,
    *,
    parent: str | Category | None = None,
    transfer_class: str | None = None,
) -> Category:
    """Add a category (top-level, or under a parent path); return the existing one if present.

    Without a transfer class a top-level category stays behind and a subcategory follows its
    parent; pass a class, "none" or "inherit" to say otherwise.
    """
    name = name.strip()
    if not name:
        raise ValidationError("a category needs a name")
    if isinstance(parent, str):
        parent = find_category(session, school, parent)
    if parent is not None and parent.parent_id is not None:
        raise ValidationError("the tree has two levels: a subcategory cannot have children")
    path = category_path(name, parent)
    existing = session.scalar(
        select(Category).where(Category.school_id == school.id, Category.path == path)
    )
    if existing is not None:
        return existing
    category = Category(
        school_id=school.id,
        parent_id=parent.id if parent is not None else None,
        parent=parent,
        name=name,
        path=path,
        transfer_class=(
            None if transfer_class is None else _stored_value(transfer_class, is_top=parent is None)
        ),
        position=_next_position(session, school),
    )
    session.add(category)
    session.flush()
    return category


def set_transfer_class(session: Session, school: School, path: str, value: str | None) -> Category:
    """Map one category to a transfer class, to none, or (subcategories) back to its parent's."""
    category = find_category(session, school, path)
    previous = category.transfer_class
    category.transfer_class = _stored_value(value, is_top=category.parent_id is None)
    session.flush()
    if previous != category.transfer_class:
        record_event(
            session,
            school.id,
            None,
            "operator",
            "policy.class_set",
            "category",
            category.id,
            details={"transfer_class": category.transfer_class or "inherit"},
        )
    return category


def transfer_class_of(category: Category) -> str | None:
    """Return the transfer class a category resolves to, following its parent; None if it stays."""
    own = category.transfer_class
    if own == NOT_TRANSFERRED:
        return None
    if own is not None:
        return own
    if category.parent is not None:
        return transfer_class_of(category.parent)
    return None


def is_explicit(category: Category) -> bool:
    """Return whether the category's mapping is set on it rather than taken from its parent."""
    return category.parent_id is None or category.transfer_class is not None


def transfer_classes_of(incident: Incident) -> set[str]:
    """Return the transfer classes of an incident's categories."""
    found = {transfer_class_of(category) for category in incident.categories}
    return {value for value in found if value is not None}


def is_transferable(incident: Incident) -> bool:
    """Return whether any of the incident's categories transfers."""
    return bool(transfer_classes_of(incident))


def apply_preset(
    session: Session, school: School, preset_name: str, *, reset: bool = False
) -> AppliedPreset:
    """Create the preset's categories the school lacks; with reset, restore the preset's mapping."""
    preset = load_preset(preset_name)
    created = remapped = unchanged = 0
    for top_node in preset.categories:
        nodes = [(top_node, None), *((child, top_node.name) for child in top_node.subcategories)]
        for node, parent_path in nodes:
            path = node.name if parent_path is None else f"{parent_path}/{node.name}"
            existing = session.scalar(
                select(Category).where(Category.school_id == school.id, Category.path == path)
            )
            stored = _stored_value(node.transfer, is_top=parent_path is None)
            if existing is None:
                category = add_category(session, school, node.name, parent=parent_path)
                category.transfer_class = stored
                created += 1
            elif reset and existing.transfer_class != stored:
                existing.transfer_class = stored
                remapped += 1
            else:
                unchanged += 1
    session.flush()
    if created or remapped:
        record_event(
            session,
            school.id,
            None,
            "operator",
            "policy.preset_applied",
            "preset",
            preset.name,
            details={"created": created, "remapped": remapped},
        )
    return AppliedPreset(preset.name, created, remapped, unchanged)


def _stored_value(value: str | None, *, is_top: bool) -> str | None:
    """Turn a class, none or inherit into what the column holds for a top or sub category."""
    if value == INHERIT:
        if is_top:
            raise ValidationError("a top-level category has no parent to inherit from")
        return None
    transfer_class = validate_transfer_class(value)
    if transfer_class is None and not is_top:
        return NOT_TRANSFERRED
    return transfer_class


def _next_position(session: Session, school: School) -> int:
    positions = session.scalars(
        select(Category.position).where(Category.school_id == school.id)
    ).all()
    return max(positions, default=-1) + 1
