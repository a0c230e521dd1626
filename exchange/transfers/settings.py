"""A school's transfer settings, with the defaults the guidance suggests."""

from __future__ import annotations

import re
from typing import Any

from exchange.errors import ValidationError
from exchange.records.models import School

DEFAULTS: dict[str, Any] = {
    "deadline_days": 5,  # KCSIE: within 5 days of an in-year move or the start of a new term.
    "deadline_unit": "school_days",  # or "days"; school days follow `exchange calendar`.
    "conversation_required": "all",  # or "flagged": only CP plan, CIN or looked-after children.
    "deputy_may_authorise": False,
    "dsl_email": None,
    "senco_email": None,
    # The local authority's children-missing-education officer: told when a child leaves for
    # an unknown destination (statutory guidance "Children missing education").
    "la_cme_email": None,
    "offer_valid_days": 14,
    # Protocol 1.3: the offer names the child (given and family name) so the receiving DSL
    # can confirm who it is; false leaves the name out (UPN and date of birth only).
    "offer_includes_name": True,
    "service_url": None,
}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
BOOLEANS = ("offer_includes_name",)
CHOICES = {"deadline_unit": ("days", "school_days"), "conversation_required": ("all", "flagged")}


def school_setting(school: School, key: str) -> Any:
    """Return one transfer setting of a school, or its default."""
    if key not in DEFAULTS:
        raise KeyError(key)
    return (school.settings or {}).get(key, DEFAULTS[key])


def update_settings(school: School, **changes: Any) -> None:
    """Change transfer settings after checking each value."""
    for key, value in changes.items():
        if key not in DEFAULTS:
            raise ValidationError(f"unknown transfer setting {key!r}")
        if key in CHOICES and value not in CHOICES[key]:
            raise ValidationError(f"{key} must be one of {', '.join(CHOICES[key])}")
        if key in ("deadline_days", "offer_valid_days") and (
            not isinstance(value, int) or value < 1
        ):
            raise ValidationError(f"{key} must be a whole number of at least 1")
        if key in BOOLEANS and not isinstance(value, bool):
            raise ValidationError(f"{key} must be true or false")
        if key.endswith("_email") and value is not None and not EMAIL.fullmatch(str(value)):
            raise ValidationError(f"{key} must be an email address")
    school.settings = {**(school.settings or {}), **changes}
