"""Change a school's retention settings: the DPO, with a fresh second factor; audited.

Automatic disposal is stored at once. A floor or the SEN categories go through the rule
changes (exchange.retention.changes): at once if no record becomes due earlier, else a
shortening with its notice period and emails.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from exchange.audit.refusals import refusal_event
from exchange.auth.permissions import refusal
from exchange.errors import ValidationError
from exchange.records.models import School
from exchange.retention.actors import Actor
from exchange.retention.changes import DEFAULT_NOTICE_DAYS, Outcome, request_change
from exchange.retention.errors import BelowFloor, RetentionForbidden
from exchange.retention.rules import london_today
from exchange.retention.settings import (
    FLOOR_SETTINGS,
    below_statutory,
    save_setting,
    setting_change,
)

ON, OFF = ("on", "true", "yes", "1"), ("off", "false", "no", "0")


def parse_value(key: str, text: str) -> Any:
    """Return a setting's value from the words of the command line."""
    if key == "automatic_disposal":
        word = text.strip().lower()
        if word not in ON + OFF:
            raise ValidationError("automatic_disposal is on or off")
        return word in ON
    if key == "sen_categories":
        return [name.strip() for name in text.split(",") if name.strip()]
    if not text.strip().isdigit():
        raise ValidationError(f"{key} is a whole number of years")
    return int(text)


def _refuse(school_id: int, actor: Actor, reason: str) -> None:
    raise RetentionForbidden(
        reason,
        audit=refusal_event(
            school_id,
            actor.user_id,
            actor.role,
            "retention.settings_change_refused",
            "school",
            str(school_id),
            None,
            reason,
        ),
    )


def change_setting(
    session: Session,
    school_id: int,
    key: str,
    value: Any,
    actor: Actor,
    fresh: bool,
    *,
    today: date | None = None,
    notice_days: int = DEFAULT_NOTICE_DAYS,
) -> Outcome | None:
    """Check and change one retention setting of the school; audit it.

    Returns the rule change's outcome for a floor setting (saved, or pending when it makes
    records due earlier), None for automatic disposal.
    """
    reason = refusal(actor.role, "set_disposal_mode")
    if reason is None and not fresh:
        reason = "Changing the retention settings needs the DPO to confirm their second factor"
    if reason:
        _refuse(school_id, actor, reason)
    if key in FLOOR_SETTINGS:
        reason = below_statutory(key, value)
        if reason:
            raise BelowFloor(
                reason,
                audit=refusal_event(
                    school_id,
                    actor.user_id,
                    actor.role,
                    "retention.settings_below_floor_refused",
                    "school",
                    str(school_id),
                    None,
                    reason,
                ),
            )
        change = setting_change(session.get(School, school_id), key, value)
        return request_change(
            session,
            school_id,
            change,
            actor,
            fresh_second_factor=fresh,
            today=today or london_today(),
            notice_days=notice_days,
        )
    save_setting(session, school_id, key, value, actor)
    return None
