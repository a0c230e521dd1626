"""The school's calendar on the web: term dates, INSET days, closures and bank holidays."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, g, redirect, render_template, request, url_for

from exchange.audit.service import record_event
from exchange.auth.permissions import can
from exchange.calendar import store
from exchange.calendar.bank_holidays import REGIONS, bank_holidays
from exchange.calendar.importer import MAX_BYTES, read_file
from exchange.calendar.terms import SchoolCalendar, academic_year
from exchange.errors import ExchangeError
from exchange.web.access import current_school, current_user, db, requires
from exchange.web.home import home


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        return None


def _years(calendar: SchoolCalendar, today: date) -> list[dict[str, Any]]:
    years = []
    for year in (academic_year(today), academic_year(today) + 1):
        first, last = date(year, 8, 1), date(year + 1, 7, 31)
        holidays = bank_holidays(calendar.region, year) | bank_holidays(calendar.region, year + 1)
        years.append(
            {
                "label": f"{year} to {year + 1}",
                "estimated": year not in calendar.entered_years,
                "terms": calendar.terms_of(year),
                "closures": [c for c in calendar.closures if academic_year(c.start) == year],
                "inset": sorted(d for d in calendar.inset_days if academic_year(d) == year),
                "bank": sorted(d for d in holidays if first <= d <= last),
            }
        )
    return years


def _change(form: str) -> str | None:
    """Apply one form's change to the school's calendar; return an error or None."""
    school = current_school()
    if form == "import":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return "Choose an iCalendar (.ics) or CSV file"
        store.merge(school, read_file(upload.filename, upload.read(MAX_BYTES + 1)))
    elif form == "term":
        start, end = _day("start"), _day("end")
        if start is None or end is None:
            return "Enter the first and last day of the term as dates"
        store.add_term(school, start, end, request.form.get("name", "").strip()[:40])
    elif form == "closure":
        start, end = _day("closure_start"), _day("closure_end")
        if start is None or end is None:
            return "Enter the first and last day of the closure as dates"
        store.add_closure(school, start, end, request.form.get("closure_name", "").strip()[:40])
    elif form == "inset":
        day = _day("inset")
        if day is None:
            return "Enter the INSET day as a date"
        store.add_inset_day(school, day)
    elif form == "region":
        store.set_region(school, request.form.get("region", ""))
    else:
        return "Choose what to change"
    return None


@home.route("/calendar", methods=["GET", "POST"])
@requires("view_children")
def calendar() -> Any:
    """Show the calendar the clock counts; a DSL enters or imports the school's dates."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        user = current_user()
        assert user is not None
        if not can(user.role, "manage_transfers"):
            abort(403)
        form = request.form.get("form", "")
        try:
            problem = _change(form)
        except ExchangeError as exc:
            problem = exc.message[:1].upper() + exc.message[1:]
        if problem is None:
            record_event(
                db(),
                user.school_id,
                user.id,
                user.role,
                "calendar.changed",
                "school",
                str(user.school_id),
                g.get("request_id"),
                {"change": form},
            )
            return redirect(url_for("home.calendar"))
        errors[f"{form}-error"] = problem
    calendar_ = store.load(current_school())
    return render_template(
        "dsl/calendar.html",
        calendar=calendar_,
        years=_years(calendar_, date.today()),
        regions=REGIONS,
        errors=errors,
        form=request.form,
    ), (400 if errors else 200)
