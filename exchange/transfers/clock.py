"""The transfer clock: when a child's file must reach the new school, in school days.

KCSIE: within 5 school days of an in-year move, or within the first 5 school days of a new
term for a child who leaves at the end of a term. Both come to the same count once the
school's holidays are left out: the 5th school day after the leaving date. The pupil record
and CTF have their own limit (Education (Pupil Information) (England) Regulations 2005):
15 school days after the child leaves the roll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from exchange.calendar.store import load
from exchange.calendar.terms import SchoolCalendar
from exchange.records.models import School
from exchange.transfers.settings import school_setting

RECORD_DAYS = 15  # School days for the pupil record and CTF.


def _long(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def deadline_on(calendar: SchoolCalendar, leaving: date, count: int, unit: str) -> date:
    """Return the date count days (or school days) after the leaving date."""
    if unit == "days":
        return leaving + timedelta(days=count)
    return calendar.nth_school_day_after(leaving, count)


def deadline_for(school: School, leaving_date: date | None, today: date) -> date:
    """Return the safeguarding file's deadline under the school's calendar and settings."""
    return deadline_on(
        load(school),
        leaving_date or today,
        school_setting(school, "deadline_days"),
        school_setting(school, "deadline_unit"),
    )


def record_deadline_for(school: School, leaving_date: date | None, today: date) -> date:
    """Return the pupil record and CTF's deadline: 15 school days after the child leaves."""
    return load(school).nth_school_day_after(leaving_date or today, RECORD_DAYS)


@dataclass(frozen=True)
class Clock:
    """Where a transfer stands against its deadline, in words a DSL can act on."""

    deadline: date
    record_deadline: date
    school_days_left: int  # Negative once overdue.
    rule: str
    estimated: bool

    @property
    def overdue(self) -> bool:
        """Return whether the deadline has passed."""
        return self.school_days_left < 0

    @property
    def left_in_words(self) -> str:
        """Return "3 school days left", "Due today" or "2 school days overdue"."""
        left = self.school_days_left
        if left == 0:
            return "Due today"
        days = "school day" if abs(left) == 1 else "school days"
        return f"{left} {days} left" if left > 0 else f"{-left} {days} overdue"


def rule_in_words(school: School, leaving: date, calendar: SchoolCalendar | None = None) -> str:
    """Return the rule that sets the deadline for this leaving date, in words."""
    count, unit = school_setting(school, "deadline_days"), school_setting(school, "deadline_unit")
    if unit == "days":
        return f"within {count} days of leaving (the school's own setting)"
    reopening = (calendar or load(school)).reopening_after(leaving)
    if reopening is not None:
        return (
            f"left at the end of a term: within the first {count} school days of the new term "
            f"(the school reopens on {_long(reopening)})"
        )
    return f"an in-year move: within {count} school days of leaving"


def clock_for(school: School, leaving: date, deadline: date | None, today: date) -> Clock:
    """Return the clock of a child leaving on `leaving` (deadline as stored, if set)."""
    calendar = load(school)
    deadline = deadline or deadline_on(
        calendar,
        leaving,
        school_setting(school, "deadline_days"),
        school_setting(school, "deadline_unit"),
    )
    if deadline >= today:
        left = calendar.school_days_between(today, deadline)  # School days after today.
    else:
        left = min(-calendar.school_days_between(deadline, today), -1)
    return Clock(
        deadline=deadline,
        record_deadline=calendar.nth_school_day_after(leaving, RECORD_DAYS),
        school_days_left=left,
        rule=rule_in_words(school, leaving, calendar),
        estimated=calendar.is_estimated(leaving) or calendar.is_estimated(deadline),
    )
