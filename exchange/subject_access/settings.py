"""A school's subject access settings: how long requests are kept, when reminders go."""

from __future__ import annotations

from typing import Any

from exchange.records.models import School

KEY = "subject_access"
DEFAULTS: dict[str, Any] = {
    # The request, the response and the handling record are kept this long after closing
    # (a common schools' retention schedule: the current year plus six).
    "retention_years": 6,
    # Remind the DSLs and the DPO this many days before the due date (and again when overdue).
    "reminder_days": 7,
}


def sar_setting(school: School, key: str) -> Any:
    """Return one subject access setting of a school, or its default."""
    stored = (school.settings or {}).get(KEY) or {}
    return stored.get(key, DEFAULTS[key])
