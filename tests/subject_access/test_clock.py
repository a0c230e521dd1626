"""The one-month clock as the ICO counts it: month ends, leap years, weekends, bank holidays."""

from __future__ import annotations

from datetime import date

import pytest

from exchange.subject_access.clock import add_months, age_on, due_date


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2027, 1, 31), date(2027, 3, 1)),  # 28 Feb 2027 is a Sunday: Monday 1 March.
        (date(2028, 1, 31), date(2028, 2, 29)),  # Leap year: Tuesday 29 February.
        (date(2026, 1, 31), date(2026, 3, 2)),  # 28 Feb 2026 is a Saturday: Monday 2 March.
        (date(2027, 8, 31), date(2027, 9, 30)),  # September has no 31st: its last day.
        (date(2026, 3, 31), date(2026, 4, 30)),  # April has no 31st: its last day (a Thursday).
        (date(2027, 1, 29), date(2027, 3, 1)),  # No 29 Feb 2027: the 28th, a Sunday: 1 March.
        (date(2026, 11, 25), date(2026, 12, 29)),  # 25 Dec holiday, 26-27 weekend, 28 substitute.
        (date(2026, 11, 28), date(2026, 12, 29)),  # 28 Dec is the Boxing Day substitute holiday.
        (date(2027, 12, 1), date(2028, 1, 4)),  # 1 Jan 2028 Saturday, 3 Jan the substitute day.
        (date(2026, 3, 3), date(2026, 4, 7)),  # Good Friday, the weekend, Easter Monday.
        (date(2026, 10, 14), date(2026, 11, 16)),  # 14 Nov is a Saturday: Monday 16th.
        (date(2026, 6, 10), date(2026, 7, 10)),  # An ordinary month: the same date.
    ],
)
def test_one_calendar_month(received: date, due: date) -> None:
    assert due_date(received) == due


def test_a_leap_day_request_is_due_on_the_29th_of_march() -> None:
    assert due_date(date(2028, 2, 29)) == date(2028, 3, 29)


def test_an_extension_counts_three_months_from_receipt() -> None:
    assert due_date(date(2026, 11, 30), 2) == date(2027, 3, 1)  # 28 Feb 2027 Sunday: 1 March.
    assert due_date(date(2027, 11, 30), 2) == date(2028, 2, 29)  # Leap year: the 29th exists.
    assert due_date(date(2026, 11, 30), 1) == date(2027, 2, 1)  # 30 Jan 2027 is a Saturday.


def test_more_than_two_further_months_is_refused() -> None:
    with pytest.raises(ValueError, match="0 to 2"):
        due_date(date(2026, 1, 1), 3)


def test_month_arithmetic_across_the_year_end() -> None:
    assert add_months(date(2026, 12, 31), 1) == date(2027, 1, 31)
    assert add_months(date(2026, 12, 31), 2) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


def test_age_on_the_day_of_receipt() -> None:
    assert age_on(date(2013, 12, 1), date(2025, 11, 30)) == 11
    assert age_on(date(2013, 12, 1), date(2025, 12, 1)) == 12
    assert age_on(date(2012, 2, 29), date(2024, 2, 28)) == 11
    assert age_on(None, date(2024, 2, 28)) is None
