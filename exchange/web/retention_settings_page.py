"""The DPO's form for the retention floors and the SEN categories.

The same service as `exchange retention settings set`: raising a floor or naming another SEN
category takes effect at once; lowering a floor or removing an SEN category makes records due
earlier, so it goes through the shortening path (notice period, emails with the forecast).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from sqlalchemy import select

from exchange.audit.refusals import record_refusal
from exchange.errors import ExchangeError
from exchange.records.models import Category, School
from exchange.retention.change_words import describe_change
from exchange.retention.changes import Outcome, pending_changes
from exchange.retention.disposal import change_setting
from exchange.retention.floor import CHILD_PROTECTION_YEARS, SEN_YEARS
from exchange.retention.notify import send_change_notices
from exchange.retention.rules import london_today
from exchange.retention.settings import (
    below_statutory,
    checked_categories,
    retention_settings,
    same_value,
)
from exchange.transfers.actors import Actor
from exchange.web.access import (
    current_user,
    db,
    has_fresh_second_factor,
    instance,
    requires,
    requires_fresh_second_factor,
)

retention_settings_page = Blueprint("retention_settings_page", __name__)
FLOORS = ("floor_child_protection_years", "floor_sen_years")
OTHER = "sen_other"
YEARS_ERROR = "Enter the floor as a whole number of years, for example {example}"


@retention_settings_page.app_context_processor
def _words() -> dict[str, Any]:
    return {"describe_change": describe_change}


def _school() -> School:
    user = current_user()
    assert user is not None
    return db().get(School, user.school_id)


def _top_categories(school_id: int) -> list[str]:
    paths = db().scalars(select(Category.path).where(Category.school_id == school_id))
    return sorted({path.split("/", 1)[0] for path in paths}, key=str.casefold)


def _page(form: Mapping[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    school = _school()
    current = retention_settings(school)
    tops = _top_categories(school.id)
    known = {name.casefold() for name in tops}
    choices = tops + [n for n in current["sen_categories"] if n.casefold() not in known]
    waiting = [c for c in pending_changes(db(), school.id) if c.change.get("kind") == "setting"]
    return render_template(
        "dpo/retention_settings.html",
        current=current,
        form=form,
        chosen={name.casefold() for name in form["sen_categories"]},
        choices=choices,
        waiting_settings=waiting,
        statutory={"cp": CHILD_PROTECTION_YEARS, "sen": SEN_YEARS},
        notice_days=instance().config["RETENTION_NOTICE_DAYS"],
        done=request.args.get("done") == "1",
        errors=errors,
    ), status


def _shown(current: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values as the school's settings are now."""
    return {
        "floor_child_protection_years": str(current["floor_child_protection_years"]),
        "floor_sen_years": str(current["floor_sen_years"]),
        "sen_categories": list(current["sen_categories"]),
        OTHER: "",
    }


@retention_settings_page.route("/retention/settings")
@requires("set_disposal_mode")
def settings() -> Any:
    """Show the school's floors and SEN categories, and the changes waiting."""
    return _page(_shown(retention_settings(_school())), {})


def _read(errors: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the form as typed (to show again) and the values it asks for."""
    raw = request.form
    typed: dict[str, Any] = {key: raw.get(key, "").strip() for key in (*FLOORS, OTHER)}
    typed["sen_categories"] = raw.getlist("sen_categories")
    values: dict[str, Any] = {}
    for key, example in zip(FLOORS, (CHILD_PROTECTION_YEARS, SEN_YEARS), strict=True):
        text = typed[key]
        if not text.isdigit() or len(text) > 3:
            errors[key] = YEARS_ERROR.format(example=example)
        else:
            values[key] = int(text)
    names = typed["sen_categories"] + [n for n in typed[OTHER].split(",") if n.strip()]
    try:
        values["sen_categories"] = checked_categories(names)
    except ExchangeError as exc:
        errors[OTHER] = exc.message
    return typed, values


@retention_settings_page.route("/retention/settings", methods=["POST"])
@requires("set_disposal_mode")
@requires_fresh_second_factor
def save() -> Any:
    """Change what the DPO changed: at once if it keeps records as long, else after notice."""
    user = current_user()
    assert user is not None
    errors: dict[str, str] = {}
    typed, values = _read(errors)
    if errors:
        for key in FLOORS:  # Say everything wrong at once; the service refuses (audited) below.
            reason = below_statutory(key, values.get(key))
            if reason:
                errors[key] = reason
        return _page(typed, errors, 400)
    current = retention_settings(_school())
    actor = Actor.of(user, g.get("request_id"))
    refusals: list[ExchangeError] = []
    outcomes: list[Outcome | None] = []
    for key in (*FLOORS, "sen_categories"):
        if same_value(key, current[key], values[key]):
            continue
        try:
            outcomes.append(
                change_setting(
                    db(),
                    user.school_id,
                    key,
                    values[key],
                    actor,  # type: ignore[arg-type]
                    has_fresh_second_factor(),
                    today=london_today(),
                    notice_days=instance().config["RETENTION_NOTICE_DAYS"],
                )
            )
        except ExchangeError as exc:
            if exc.status_code == 403:
                raise
            errors[key if key in FLOORS else OTHER] = exc.message
            refusals.append(exc)
    if errors:
        # Nothing of this form is kept when any part of it is refused; the refusals are.
        db().rollback()
        if sum(record_refusal(db(), exc) for exc in refusals):
            db().commit()
        return _page(typed, errors, 400)
    db().commit()
    if any(outcome is not None and outcome.pending is not None for outcome in outcomes):
        send_change_notices(instance().sessions, instance().config)
    return redirect(url_for("retention_settings_page.settings", done="1"))
