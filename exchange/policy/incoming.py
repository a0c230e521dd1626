"""Where records received by transfer are filed: each shared transfer class to one own category.

Bundles name, beside the sender's own category path, one of the shared transfer classes
(`exchange.policy.classes`). Each school maps every class once to one of its own categories
(school setting `incoming_categories`); by default the first category of its tree that carries
that class itself, so presets work at once. Its retention rules and reports then reach them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.policy.classes import TRANSFER_CLASSES
from exchange.policy.service import find_category
from exchange.records.models import Category, School

SETTING = "incoming_categories"


def default_category(session: Session, school: School, transfer_class: str) -> Category | None:
    """Return the first category (in tree order) that carries this transfer class itself."""
    return session.scalar(
        select(Category)
        .where(Category.school_id == school.id, Category.transfer_class == transfer_class)
        .order_by(Category.position, Category.path)
    )


def mapped_category(
    session: Session, school: School, transfer_class: str | None
) -> Category | None:
    """Return the category this school files a received record of this class under, if any."""
    if transfer_class not in TRANSFER_CLASSES:
        return None
    chosen = ((school.settings or {}).get(SETTING) or {}).get(transfer_class)
    if chosen:
        found = session.scalar(
            select(Category).where(Category.school_id == school.id, Category.path == chosen)
        )
        if found is not None:
            return found
    return default_category(session, school, transfer_class)


def set_mapping(session: Session, school: School, transfer_class: str, path: str | None) -> None:
    """Map a transfer class to one of the school's categories (None: back to the default)."""
    if transfer_class not in TRANSFER_CLASSES:
        known = ", ".join(TRANSFER_CLASSES)
        raise ValidationError(f"unknown transfer class {transfer_class!r}; use one of {known}")
    mapping = dict((school.settings or {}).get(SETTING) or {})
    if path is None:
        mapping.pop(transfer_class, None)
    else:
        mapping[transfer_class] = find_category(session, school, path).path
    school.settings = {**(school.settings or {}), SETTING: mapping}


def mapping_table(session: Session, school: School) -> list[tuple[str, str | None, bool]]:
    """Return (class, category path or None, whether set by hand) for every transfer class."""
    chosen = (school.settings or {}).get(SETTING) or {}
    rows = []
    for transfer_class in TRANSFER_CLASSES:
        category = mapped_category(session, school, transfer_class)
        rows.append((transfer_class, category.path if category else None, transfer_class in chosen))
    return rows
