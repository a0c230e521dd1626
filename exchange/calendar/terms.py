"""A school's calendar: its terms, closures inside terms and INSET days, or an estimate.

Where a school has entered no terms for an academic year (1 August to 31 July), the calendar
estimates the usual pattern in England and Wales: three terms, each with a half-term week,
a fortnight at Christmas and Easter and six weeks in summer. Pages say when a date rests on
an estimate, so the school knows to enter its own dates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, cached_property

from dateutil.easter import easter

from exchange.calendar.bank_holidays import is_bank_holiday

DAY = timedelta(days=1)
WEEK = timedelta(days=7)


@dataclass(frozen=True, order=True)
class Term:
    """A stretch of the school year when the school is open (a half term or a whole term)."""

    start: date
    end: date
    name: str = field(default="", compare=False)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def academic_year(day: date) -> int:
    """Return the calendar year in which the day's academic year began (1 August)."""
    return day.year if day.month >= 8 else day.year - 1


def term_name(start: date) -> str:
    """Return the usual name of a term from the month it starts."""
    if start.month >= 8:
        return "autumn term"
    return "spring term" if start.month <= 3 else "summer term"


def _weekday_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _weekday_on_or_before(day: date, weekday: int) -> date:
    return day - timedelta(days=(day.weekday() - weekday) % 7)


def _first_open_day(day: date, region: str) -> date:
    while day.weekday() >= 5 or is_bank_holiday(day, region):
        day += DAY
    return day


def _last_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day -= DAY
    return day


@cache
def estimated_terms(year: int, region: str) -> tuple[Term, ...]:
    """Return the usual six half terms of the academic year beginning in September of `year`."""
    autumn = _first_open_day(date(year, 9, 3), region)
    if autumn.weekday() == 4:  # Few schools start on a Friday: the Monday after.
        autumn += 3 * DAY
    october = _weekday_on_or_before(date(year, 10, 31), 0)  # The last Monday of October.
    christmas = date(year, 12, 20)
    christmas_end = (
        _last_weekday(christmas)
        if christmas.weekday() >= 2
        else _weekday_on_or_before(christmas, 4)
    )
    spring = _first_open_day(date(year + 1, 1, 4), region)
    if spring.weekday() == 4:
        spring += 3 * DAY
    february = _weekday_on_or_after(date(year + 1, 2, 15), 0)  # The third Monday of February.
    good_friday = easter(year + 1) - 2 * DAY
    if good_friday < date(year + 1, 4, 1):
        easter_start = good_friday + 3 * DAY  # An early Easter: the fortnight after it.
    else:
        easter_start = good_friday - 4 * DAY
    may = _weekday_on_or_before(date(year + 1, 5, 31), 0)  # The spring bank holiday.
    summer_end = _last_weekday(date(year + 1, 7, 22))
    return (
        Term(autumn, october - 3 * DAY, "autumn term"),
        Term(october + WEEK, christmas_end, "autumn term"),
        Term(spring, february - 3 * DAY, "spring term"),
        Term(february + WEEK, easter_start - 3 * DAY, "spring term"),
        Term(easter_start + 2 * WEEK, may - 3 * DAY, "summer term"),
        Term(may + WEEK, summer_end, "summer term"),
    )


@dataclass(frozen=True)
class SchoolCalendar:
    """When a school is open: its own terms where entered, the usual pattern elsewhere."""

    region: str = "england"
    terms: tuple[Term, ...] = ()
    closures: tuple[Term, ...] = ()  # Holidays inside an entered term (a half-term week).
    inset_days: frozenset[date] = frozenset()
    _known: dict[date, bool] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def entered_years(self) -> frozenset[int]:
        """Return the academic years for which the school entered its own terms."""
        return frozenset(academic_year(term.start) for term in self.terms)

    def is_estimated(self, day: date) -> bool:
        """Return whether the school's days around `day` are estimated, not entered."""
        return academic_year(day) not in self.entered_years

    def terms_of(self, year: int) -> tuple[Term, ...]:
        """Return the terms of one academic year: entered, or estimated."""
        if year in self.entered_years:
            return tuple(sorted(t for t in self.terms if academic_year(t.start) == year))
        return estimated_terms(year, self.region)

    def term_on(self, day: date) -> Term | None:
        """Return the term the day falls in, if any."""
        return next((term for term in self.terms_of(academic_year(day)) if day in term), None)

    def is_school_day(self, day: date) -> bool:
        """Return whether pupils are taught that day: a weekday in term, not a holiday."""
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._is_school_day(day)
        return known

    def _is_school_day(self, day: date) -> bool:
        if day.weekday() >= 5 or day in self.inset_days or is_bank_holiday(day, self.region):
            return False
        if self.term_on(day) is None:
            return False
        return not any(day in closure for closure in self.closures)

    def school_days_after(self, day: date) -> Iterator[date]:
        """Yield the school days after `day`, in order (bounded: ten years at most)."""
        for _ in range(3660):
            day += DAY
            if self.is_school_day(day):
                yield day
        raise ValueError("no school days in ten years: the calendar is wrong")

    def nth_school_day_after(self, day: date, count: int) -> date:
        """Return the count-th school day after `day` (the day itself is not counted)."""
        for number, school_day in enumerate(self.school_days_after(day), start=1):
            if number >= count:
                return school_day
        raise AssertionError("unreachable")

    def school_days_between(self, start: date, end: date) -> int:
        """Return how many school days fall after `start` up to and including `end`."""
        if end < start:
            return -self.school_days_between(end, start)
        return sum(
            1 for n in range((end - start).days) if self.is_school_day(start + (n + 1) * DAY)
        )

    def reopening_after(self, day: date) -> date | None:
        """Return the first day of a new term if `day` ends a term (or falls in a holiday)."""
        first = next(self.school_days_after(day))
        new_term = self.term_on(first)
        if new_term is not None and new_term != self.term_on(day):
            return first
        return None
