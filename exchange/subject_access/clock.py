"""The subject access clock: one calendar month from receipt, counted as the ICO guides.

The ICO's guidance on the right of access: the month runs from the day the request is received
to the corresponding calendar date in the next month; where the next month has no such date
(31 January), the last day of that month; where the date falls on a weekend or a bank holiday,
the next working day. A complex request may be extended by up to two further months, counted
the same way from the day of receipt.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import cache

from govuk_bank_holidays.bank_holidays import BankHolidays

MAX_EXTENSION_MONTHS = 2
# A young person of about this age is usually mature enough to understand their rights (ICO).
CHILD_VIEWS_AGE = 12


def add_months(start: date, months: int) -> date:
    """Return the corresponding calendar date months later, or that month's last day."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def next_working_day(day: date) -> date:
    """Return the day itself if it is a working day, else the next one."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


@cache
def _bank_holidays() -> frozenset[date]:
    """Return England and Wales bank holidays from the package's own data (no network)."""
    holidays = BankHolidays(use_cached_holidays=True)
    return frozenset(
        item["date"] for item in holidays.get_holidays(division=BankHolidays.ENGLAND_AND_WALES)
    )


def is_working_day(day: date) -> bool:
    """Return whether a day is a weekday that is not a bank holiday in England and Wales."""
    return day.weekday() < 5 and day not in _bank_holidays()


def due_date(received: date, extra_months: int = 0) -> date:
    """Return the response's due date: a month (plus any extension) after receipt."""
    if not 0 <= extra_months <= MAX_EXTENSION_MONTHS:
        raise ValueError(f"an extension is 0 to {MAX_EXTENSION_MONTHS} months")
    return next_working_day(add_months(received, 1 + extra_months))


def age_on(date_of_birth: date | None, day: date) -> int | None:
    """Return a person's age in whole years on a day."""
    if date_of_birth is None:
        return None
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - int(before_birthday)


def days_left(due: date, today: date) -> int:
    """Return the calendar days until the due date (negative once overdue)."""
    return (due - today).days
