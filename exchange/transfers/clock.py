"""The transfer clock: the deadline from the leaving date, in days or school days."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from govuk_bank_holidays.bank_holidays import BankHolidays

from exchange.records.models import School
from exchange.transfers.settings import school_setting


@cache
def _bank_holidays() -> frozenset[date]:
    """Return England and Wales bank holidays from the package's own data (no network)."""
    holidays = BankHolidays(use_cached_holidays=True)
    return frozenset(
        item["date"] for item in holidays.get_holidays(division=BankHolidays.ENGLAND_AND_WALES)
    )


def is_school_day(day: date) -> bool:
    """Return whether a day is a weekday that is not a bank holiday in England and Wales."""
    return day.weekday() < 5 and day not in _bank_holidays()


def add_days(start: date, count: int, unit: str) -> date:
    """Return the date count days (or school days) after start."""
    if unit == "days":
        return start + timedelta(days=count)
    day, remaining = start, count
    while remaining > 0:
        day += timedelta(days=1)
        if is_school_day(day):
            remaining -= 1
    return day


def clock_start(leaving_date: date, term_starts: list[str]) -> date:
    """Return when the clock starts: the leaving date, or the next term's start if in a holiday."""
    upcoming = sorted(
        date.fromisoformat(s) for s in term_starts if date.fromisoformat(s) >= leaving_date
    )
    if upcoming and (upcoming[0] - leaving_date).days <= 60:
        return upcoming[0]
    return leaving_date


def deadline_for(school: School, leaving_date: date | None, today: date) -> date:
    """Return the transfer deadline under the school's clock settings."""
    start = clock_start(leaving_date or today, school_setting(school, "term_starts"))
    return add_days(
        start, school_setting(school, "deadline_days"), school_setting(school, "deadline_unit")
    )
