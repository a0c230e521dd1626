"""The statutory clock across Christmas, Easter, summer and bank holidays, 2026 to 2032."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from exchange.calendar import store
from exchange.calendar.bank_holidays import bank_holidays
from exchange.calendar.terms import estimated_terms
from exchange.records.models import School
from exchange.transfers.clock import clock_for, deadline_for, record_deadline_for, rule_in_words

YEARS = range(2026, 2033)


def _school(region: str = "england") -> School:
    school = School(urn="100001", laestab="8881001", name="Test Primary", settings={})
    store.set_region(school, region)
    return school


def _kent_like_2026(school: School) -> None:
    """Enter the six half terms of 2026-27 and an INSET day, as an LA publishes them."""
    for start, end in (
        ("2026-09-03", "2026-10-23"),
        ("2026-11-02", "2026-12-18"),
        ("2027-01-04", "2027-02-12"),
        ("2027-02-22", "2027-03-26"),
        ("2027-04-12", "2027-05-28"),
        ("2027-06-07", "2027-07-21"),
    ):
        store.add_term(school, date.fromisoformat(start), date.fromisoformat(end))
    store.add_inset_day(school, date(2027, 1, 4))


def test_the_demo_leaver_on_18_december_is_due_in_january_not_over_christmas() -> None:
    school = _school()
    assert deadline_for(school, date(2026, 12, 18), date(2026, 12, 6)) == date(2027, 1, 8)


def test_july_leavers_are_not_overdue_in_the_summer_holiday() -> None:
    school = _school()
    leaving = date(2027, 7, 22)
    deadline = deadline_for(school, leaving, leaving)
    assert deadline.month == 9
    assert not clock_for(school, leaving, deadline, date(2027, 7, 29)).overdue
    assert not clock_for(school, leaving, deadline, date(2027, 8, 31)).overdue


def test_a_mid_term_leaver_with_terms_entered_counts_five_school_days() -> None:
    school = _school()
    _kent_like_2026(school)
    assert deadline_for(school, date(2026, 12, 2), date(2026, 12, 2)) == date(2026, 12, 9)
    assert "in-year move" in rule_in_words(school, date(2026, 12, 2))


def test_an_inset_day_at_the_start_of_term_is_not_counted() -> None:
    school = _school()
    _kent_like_2026(school)
    # Pupils return on 5 January (4 January is INSET): 5, 6, 7, 8, 11.
    assert deadline_for(school, date(2026, 12, 18), date(2026, 12, 18)) == date(2027, 1, 11)
    rule = rule_in_words(school, date(2026, 12, 18))
    assert "first 5 school days of the new term" in rule
    assert "Tuesday 5 January 2027" in rule


def test_a_half_term_closure_inside_a_term_is_not_counted() -> None:
    school = _school()
    store.add_term(school, date(2026, 9, 3), date(2026, 12, 18))
    store.add_closure(school, date(2026, 10, 26), date(2026, 10, 30), "half term")
    # Leaving Wednesday 21 October: 22, 23, then 2, 3, 4 November.
    assert deadline_for(school, date(2026, 10, 21), date(2026, 10, 21)) == date(2026, 11, 4)


def test_the_record_and_ctf_limit_is_fifteen_school_days() -> None:
    school = _school()
    _kent_like_2026(school)
    # 3 to 4 December, 7 to 11, 14 to 18 December: 12; then 5, 6, 7 January.
    assert record_deadline_for(school, date(2026, 12, 2), date(2026, 12, 2)) == date(2027, 1, 7)


def test_the_overdue_list_is_right_on_the_first_day_of_a_new_term() -> None:
    school = _school()
    _kent_like_2026(school)
    first_day = date(2027, 1, 5)  # After the INSET day.
    summer_leaver = date(2026, 12, 18)
    in_year_leaver = date(2026, 12, 9)
    on_time = clock_for(school, summer_leaver, None, first_day)
    late = clock_for(school, in_year_leaver, None, first_day)
    assert (on_time.overdue, on_time.school_days_left, on_time.left_in_words) == (
        False,
        4,
        "4 school days left",
    )
    assert late.deadline == date(2026, 12, 16)
    assert late.overdue
    assert late.left_in_words == "3 school days overdue"  # 17, 18 December and 5 January.


def test_a_school_may_count_calendar_days_instead() -> None:
    school = _school()
    school.settings = {**school.settings, "deadline_unit": "days"}
    assert deadline_for(school, date(2026, 12, 18), date(2026, 12, 18)) == date(2026, 12, 23)
    assert "the school's own setting" in rule_in_words(school, date(2026, 12, 18))


def _is_school_day(school: School, day: date) -> bool:
    return store.load(school).is_school_day(day)


@pytest.mark.parametrize("region", ["england", "wales"])
@pytest.mark.parametrize("year", YEARS)
def test_christmas_easter_and_summer_leavers_are_due_in_the_next_term(
    region: str, year: int
) -> None:
    school = _school(region)
    calendar = store.load(school)
    terms = estimated_terms(year, region)
    for last_day_before_holiday, next_term in ((terms[1], terms[2]), (terms[3], terms[4])):
        leaving = last_day_before_holiday.end
        deadline = deadline_for(school, leaving, leaving)
        assert next_term.start <= deadline <= next_term.start + timedelta(days=11)
        assert calendar.school_days_between(leaving, deadline) == 5
        assert calendar.reopening_after(leaving) is not None
    summer_leaving = terms[5].end
    autumn = estimated_terms(year + 1, region)[0]
    deadline = deadline_for(school, summer_leaving, summer_leaving)
    assert autumn.start < deadline <= autumn.start + timedelta(days=11)


@pytest.mark.parametrize("region", ["england", "wales"])
@pytest.mark.parametrize("year", YEARS)
def test_no_deadline_falls_on_a_weekend_bank_holiday_or_school_holiday(
    region: str, year: int
) -> None:
    school = _school(region)
    holidays = bank_holidays(region, year)
    day = date(year, 1, 1)
    while day.year == year:
        deadline = deadline_for(school, day, day)
        assert deadline.weekday() < 5
        assert deadline not in holidays
        assert deadline not in bank_holidays(region, deadline.year)
        assert _is_school_day(school, deadline)
        assert 5 <= (deadline - day).days <= 60
        day += timedelta(days=3)


@pytest.mark.parametrize("region", ["england", "wales"])
@pytest.mark.parametrize("year", YEARS)
def test_a_leaver_before_a_bank_holiday_weekend_gets_a_day_more(region: str, year: int) -> None:
    school = _school(region)
    # The late-May bank holiday falls in half term; the early-May one falls in term.
    early_may = min(d for d in bank_holidays(region, year) if d.month == 5)
    leaving = early_may - timedelta(days=3)  # The Friday before.
    # Tuesday to Friday, then the next Monday: not the Friday a week on.
    assert deadline_for(school, leaving, leaving) == early_may + timedelta(days=7)


def test_on_the_day_it_is_due_the_clock_says_so() -> None:
    school = _school()
    due = deadline_for(school, date(2027, 1, 13), date(2027, 1, 13))
    clock = clock_for(school, date(2027, 1, 13), due, due)
    assert (clock.school_days_left, clock.left_in_words, clock.overdue) == (0, "Due today", False)
    late = clock_for(school, date(2027, 1, 13), due, due + timedelta(days=1))
    assert (late.left_in_words, late.overdue) == ("1 school day overdue", True)
