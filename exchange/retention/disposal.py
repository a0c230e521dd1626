"""Change a school's retention settings: the DPO, with a fresh second factor; audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from exchange.audit.refusals import refusal_event
from exchange.audit.service import record_event
from exchange.auth.permissions import refusal
from exchange.errors import ValidationError
from exchange.records.models import School
from exchange.retention.actors import Actor
from exchange.retention.errors import RetentionForbidden
from exchange.retention.settings import checked_change, store

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


def change_setting(
    session: Session, school_id: int, key: str, value: Any, actor: Actor, fresh: bool
) -> None:
    """Check and store one retention setting of the school; audit the change."""
    reason = refusal(actor.role, "set_disposal_mode")
    if reason is None and not fresh:
        reason = "Changing the retention settings needs the DPO to confirm their second factor"
    if reason:
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
    school = session.get(School, school_id)
    store(school, key, checked_change(school, key, value))
    session.flush()
    if key != "automatic_disposal":
        from exchange.retention.assign import recompute_school

        recompute_school(session, school_id)
    record_event(
        session,
        school_id,
        actor.user_id,
        actor.role,
        "retention.settings_changed",
        "school",
        str(school_id),
        details={"setting": key, "value": value if key != "sen_categories" else len(value)},
    )
