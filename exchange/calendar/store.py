"""A school's calendar kept in its settings: read, change and describe it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from exchange.calendar.bank_holidays import REGIONS
from exchange.calendar.terms import SchoolCalendar, Term, term_name
from exchange.errors import ValidationError
from exchange.records.models import School

KEY = "calendar"
MAX_ENTRIES = 2000


@dataclass(frozen=True)
class CalendarData:
    """Terms, closures and INSET days as entered or imported, before they are stored."""

    terms: tuple[Term, ...] = ()
    closures: tuple[Term, ...] = ()
    inset_days: tuple[date, ...] = ()

    def span(self) -> tuple[date, date] | None:
        """Return the first and last day the data speaks of, or None if it is empty."""
        days = [
            *(t.start for t in (*self.terms, *self.closures)),
            *(t.end for t in (*self.terms, *self.closures)),
            *self.inset_days,
        ]
        return (min(days), max(days)) if days else None


def _period(start: date, end: date, name: str = "") -> Term:
    if end < start:
        raise ValidationError(f"a period cannot end ({end}) before it starts ({start})")
    if (end - start).days > 400:
        raise ValidationError(f"a period of more than a year ({start} to {end}) is not a term")
    return Term(start, end, name or term_name(start))


def load(school: School) -> SchoolCalendar:
    """Return the school's calendar from its settings (shared while they are unchanged)."""
    return _load(json.dumps((school.settings or {}).get(KEY) or {}, sort_keys=True))


@lru_cache(maxsize=256)
def _load(dumped: str) -> SchoolCalendar:
    raw = json.loads(dumped)
    return SchoolCalendar(
        region=raw.get("region", "england"),
        terms=tuple(
            Term(date.fromisoformat(t["start"]), date.fromisoformat(t["end"]), t.get("name", ""))
            for t in raw.get("terms", [])
        ),
        closures=tuple(
            Term(date.fromisoformat(c["start"]), date.fromisoformat(c["end"]), c.get("name", ""))
            for c in raw.get("closures", [])
        ),
        inset_days=frozenset(date.fromisoformat(d) for d in raw.get("inset_days", [])),
    )


def _dump(calendar: SchoolCalendar) -> dict:
    def periods(items: tuple[Term, ...]) -> list[dict]:
        return [
            {"start": t.start.isoformat(), "end": t.end.isoformat(), "name": t.name}
            for t in sorted(set(items))
        ]

    return {
        "region": calendar.region,
        "terms": periods(calendar.terms),
        "closures": periods(calendar.closures),
        "inset_days": sorted(d.isoformat() for d in calendar.inset_days),
    }


def _save(school: School, calendar: SchoolCalendar) -> None:
    dumped = _dump(calendar)
    if sum(len(v) for v in dumped.values() if isinstance(v, list)) > MAX_ENTRIES:
        raise ValidationError(f"a calendar holds at most {MAX_ENTRIES} terms, closures and days")
    school.settings = {**(school.settings or {}), KEY: dumped}


def set_region(school: School, region: str) -> None:
    """Choose whose bank holidays the school keeps: England's or Wales's."""
    if region not in REGIONS:
        raise ValidationError(f"the bank holiday region must be one of {', '.join(REGIONS)}")
    current = load(school)
    _save(school, SchoolCalendar(region, current.terms, current.closures, current.inset_days))


def add_term(school: School, start: date, end: date, name: str = "") -> None:
    """Add one term (or half term) when the school is open; it may not overlap another."""
    term, current = _period(start, end, name), load(school)
    for other in current.terms:
        if term.start <= other.end and other.start <= term.end:
            raise ValidationError(
                f"{start} to {end} overlaps the term {other.start} to {other.end}"
            )
    _save(
        school,
        SchoolCalendar(
            current.region, (*current.terms, term), current.closures, current.inset_days
        ),
    )


def add_closure(school: School, start: date, end: date, name: str = "") -> None:
    """Add a holiday inside a term (a half-term week, a day closed for an election)."""
    current = load(school)
    closure = _period(start, end, name or "holiday")
    _save(
        school,
        SchoolCalendar(
            current.region, current.terms, (*current.closures, closure), current.inset_days
        ),
    )


def add_inset_day(school: School, day: date) -> None:
    """Add an INSET (staff training) day: pupils are not taught."""
    current = load(school)
    _save(
        school,
        SchoolCalendar(current.region, current.terms, current.closures, current.inset_days | {day}),
    )


def merge(school: School, data: CalendarData) -> None:
    """Store imported dates, replacing what the school had entered for the same stretch."""
    span = data.span()
    if span is None:
        raise ValidationError("the file holds no terms, holidays or INSET days")
    first, last = span
    current = load(school)

    def outside(period: Term) -> bool:
        return period.end < first or period.start > last

    for term in data.terms:
        _period(term.start, term.end, term.name)
    _save(
        school,
        SchoolCalendar(
            current.region,
            (*(t for t in current.terms if outside(t)), *data.terms),
            (*(c for c in current.closures if outside(c)), *data.closures),
            frozenset(d for d in current.inset_days if not first <= d <= last)
            | frozenset(data.inset_days),
        ),
    )


def clear(school: School) -> None:
    """Forget the school's entered dates (the usual pattern is estimated again)."""
    _save(school, SchoolCalendar(load(school).region))
