"""A school's retention settings: its floors, which categories are SEN, automatic disposal.

Stored under the key "retention" of the school's settings. A floor is never set below the
statutory floor. Raising a floor or naming another SEN category takes effect at once; lowering
a floor or removing an SEN category makes records due earlier, so it is a shortening
(exchange.retention.changes). A school disposes automatically only if its DPO has chosen to.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.errors import ValidationError
from exchange.records.models import School
from exchange.retention.actors import Actor
from exchange.retention.floor import (
    CHILD_PROTECTION_YEARS,
    SEN_CATEGORIES,
    SEN_YEARS,
    Floors,
    below_floor_setting,
)

KEY = "retention"
DEFAULTS: dict[str, Any] = {
    "floor_child_protection_years": CHILD_PROTECTION_YEARS,
    "floor_sen_years": SEN_YEARS,
    "sen_categories": list(SEN_CATEGORIES),
    "automatic_disposal": False,
}
STATUTORY = {"floor_child_protection_years": CHILD_PROTECTION_YEARS, "floor_sen_years": SEN_YEARS}
# The settings that decide how long records are kept: a change to one may be a shortening.
FLOOR_SETTINGS = ("floor_child_protection_years", "floor_sen_years", "sen_categories")
MAX_FLOOR_YEARS = 150
MAX_SEN_CATEGORIES = 50
MAX_CATEGORY_NAME = 100


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


def checked_change(key: str, value: Any) -> Any:
    """Return a setting's new value, checked; never a floor below the statutory one.

    Whether the change keeps records for less (a shortening, which waits) is decided by
    exchange.retention.changes, not here.
    """
    if key not in DEFAULTS:
        raise ValidationError(f"unknown retention setting {key!r}")
    if key == "automatic_disposal":
        if not isinstance(value, bool):
            raise ValidationError("automatic_disposal is on or off")
        return value
    if key == "sen_categories":
        return checked_categories(value)
    if not isinstance(value, int) or isinstance(value, bool) or value > MAX_FLOOR_YEARS:
        raise ValidationError(f"{key} is a whole number of years, at most {MAX_FLOOR_YEARS}")
    reason = below_statutory(key, value)
    if reason:
        raise ValidationError(reason)
    return value


def below_statutory(key: str, value: Any) -> str | None:
    """Return why a floor setting's whole number of years is below the statutory floor."""
    if key not in STATUTORY or not isinstance(value, int) or isinstance(value, bool):
        return None
    return below_floor_setting(key, value, STATUTORY[key])


def checked_categories(value: Any) -> list[str]:
    """Return the SEN category names, trimmed, each once (ignoring case), in the order given."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError("sen_categories is a list of category names")
    names: list[str] = []
    for name in (str(item).strip() for item in value):
        if "/" in name or len(name) > MAX_CATEGORY_NAME:
            raise ValidationError(
                f"an SEN category is a top-level category name of at most {MAX_CATEGORY_NAME} "
                "characters, without '/'"
            )
        if name and name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    if len(names) > MAX_SEN_CATEGORIES:
        raise ValidationError(f"name at most {MAX_SEN_CATEGORIES} SEN categories")
    return names


def floors_with(floors: Floors, key: str, value: Any) -> Floors:
    """Return the floors as they would be with one setting changed."""
    if key == "floor_child_protection_years":
        return replace(floors, child_protection_years=max(int(value), CHILD_PROTECTION_YEARS))
    if key == "floor_sen_years":
        return replace(floors, sen_years=max(int(value), SEN_YEARS))
    if key == "sen_categories":
        return replace(floors, sen_categories=tuple(str(name) for name in value))
    raise ValidationError(f"{key} is not a floor setting")


def same_value(key: str, old: Any, new: Any) -> bool:
    """Return whether two values of a setting are the same (SEN names ignoring case)."""
    if key == "sen_categories":
        return [str(n).casefold() for n in old] == [str(n).casefold() for n in new]
    return bool(old == new)


def store(school: School, key: str, value: Any) -> None:
    """Store one checked retention setting in the school's settings."""
    settings = dict(school.settings or {})
    settings[KEY] = {**dict(settings.get(KEY) or {}), key: value}
    school.settings = settings


def setting_change(school: School, key: str, value: Any) -> dict[str, object]:
    """Return the change that sets a floor setting, naming the value it replaces."""
    if key not in FLOOR_SETTINGS:
        raise ValidationError(f"{key} is not a floor setting")
    return {
        "kind": "setting",
        "key": key,
        "value": checked_change(key, value),
        "from": retention_settings(school)[key],
    }


def save_setting(
    session: Session,
    school_id: int,
    key: str,
    value: Any,
    actor: Actor,
    details: dict[str, object] | None = None,
) -> None:
    """Store one setting, recompute every record's date if it is a floor, and audit it."""
    from exchange.retention.assign import recompute_school

    school = session.get(School, school_id)
    store(school, key, checked_change(key, value))
    session.flush()
    changed = recompute_school(session, school_id) if key in FLOOR_SETTINGS else 0
    shown = len(value) if key == "sen_categories" else value
    record_event(
        session,
        school_id,
        actor.user_id,
        actor.role,
        "retention.settings_changed",
        "school",
        str(school_id),
        details={"setting": key, "value": shown, "records_redated": changed, **(details or {})},
    )
