"""A school's retention settings: its floors, which categories are SEN, automatic disposal.

Stored under the key "retention" of the school's settings. Floors can be raised, never set
below the statutory floor; a school disposes automatically only if its DPO has chosen to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.records.models import School
from exchange.retention.floor import CHILD_PROTECTION_YEARS, SEN_CATEGORIES, SEN_YEARS, Floors

KEY = "retention"
DEFAULTS: dict[str, Any] = {
    "floor_child_protection_years": CHILD_PROTECTION_YEARS,
    "floor_sen_years": SEN_YEARS,
    "sen_categories": list(SEN_CATEGORIES),
    "automatic_disposal": False,
}
STATUTORY = {"floor_child_protection_years": CHILD_PROTECTION_YEARS, "floor_sen_years": SEN_YEARS}


def retention_settings(school: School) -> dict[str, Any]:
    """Return the school's retention settings, with defaults for those not set."""
    stored = dict((school.settings or {}).get(KEY) or {})
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def school_floors(session: Session, school_id: int) -> Floors:
    """Return the floors that apply at a school."""
    school = session.get(School, school_id)
    settings = DEFAULTS if school is None else retention_settings(school)
    return Floors(
        max(int(settings["floor_child_protection_years"]), CHILD_PROTECTION_YEARS),
        max(int(settings["floor_sen_years"]), SEN_YEARS),
        tuple(str(name) for name in settings["sen_categories"]),
    )


def automatic_disposal(session: Session, school_id: int) -> bool:
    """Return whether the school's DPO chose to dispose of due records without a review."""
    school = session.get(School, school_id)
    return school is not None and bool(retention_settings(school)["automatic_disposal"])


def checked_change(school: School, key: str, value: Any) -> Any:
    """Return a setting's new value, refusing anything that would keep records for less."""
    if key not in DEFAULTS:
        raise ValidationError(f"unknown retention setting {key!r}")
    current = retention_settings(school)[key]
    if key == "automatic_disposal":
        if not isinstance(value, bool):
            raise ValidationError("automatic_disposal is on or off")
        return value
    if key == "sen_categories":
        names = [str(name).strip() for name in value if str(name).strip()]
        dropped = {n.casefold() for n in current} - {n.casefold() for n in names}
        if dropped:
            raise ValidationError(
                "SEN categories can be added, not removed: removing one would keep its "
                "records for less than the SEN floor"
            )
        return names
    if not isinstance(value, int) or isinstance(value, bool) or value > 150:
        raise ValidationError(f"{key} is a whole number of years, at most 150")
    if value < current:
        raise ValidationError(
            f"a floor can be raised, not lowered: {key} is {current} years (the statutory "
            f"least is {STATUTORY[key]})"
        )
    return value


def store(school: School, key: str, value: Any) -> None:
    """Store one checked retention setting in the school's settings."""
    settings = dict(school.settings or {})
    settings[KEY] = {**dict(settings.get(KEY) or {}), key: value}
    school.settings = settings
