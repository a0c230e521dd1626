"""Bank holidays in England and in Wales for any year, checked against GOV.UK's own data."""

from __future__ import annotations

from datetime import date

import pytest
from govuk_bank_holidays.bank_holidays import BankHolidays

from exchange.calendar.bank_holidays import bank_holidays, is_bank_holiday

# Easter Friday and Monday, computed independently (tables of Easter Sunday).
EASTER_SUNDAY = {
    2026: date(2026, 4, 5),
    2027: date(2027, 3, 28),
    2028: date(2028, 4, 16),
    2029: date(2029, 4, 1),
    2030: date(2030, 4, 21),
    2031: date(2031, 4, 13),
    2032: date(2032, 3, 28),
}
CHRISTMAS_DAYS_OFF = {
    2026: {date(2026, 12, 25), date(2026, 12, 28)},  # Boxing Day on a Saturday.
    2027: {date(2027, 12, 27), date(2027, 12, 28)},  # Both on a weekend.
    2028: {date(2028, 12, 25), date(2028, 12, 26)},
    2029: {date(2029, 12, 25), date(2029, 12, 26)},
    2030: {date(2030, 12, 25), date(2030, 12, 26)},
    2031: {date(2031, 12, 25), date(2031, 12, 26)},
    2032: {date(2032, 12, 27), date(2032, 12, 28)},
}


@pytest.mark.parametrize("region", ["england", "wales"])
@pytest.mark.parametrize("year", range(2026, 2033))
def test_easter_christmas_and_the_mondays_are_bank_holidays(region: str, year: int) -> None:
    days = bank_holidays(region, year)
    sunday = EASTER_SUNDAY[year]
    assert {
        date.fromordinal(sunday.toordinal() - 2),
        date.fromordinal(sunday.toordinal() + 1),
    } <= days
    assert CHRISTMAS_DAYS_OFF[year] <= days
    assert len(days) == 8  # New Year, Easter (2), May (2), August, Christmas (2).
    assert all(day.weekday() < 5 for day in days)


@pytest.mark.parametrize("region", ["england", "wales"])
def test_the_years_gov_uk_publishes_agree(region: str) -> None:
    published = BankHolidays(use_cached_holidays=True).get_holidays(
        division=BankHolidays.ENGLAND_AND_WALES
    )
    years = {item["date"].year for item in published if item["date"].year >= 2022}
    assert years, "the package's cached GOV.UK data holds no recent years"
    for year in years:
        expected = {item["date"] for item in published if item["date"].year == year}
        assert bank_holidays(region, year) == expected, year


def test_years_past_the_published_data_are_computed() -> None:
    assert is_bank_holiday(date(2040, 8, 27), "england")  # The last Monday of August 2040.
    assert not is_bank_holiday(date(2040, 8, 28), "wales")


def test_an_unknown_region_is_refused() -> None:
    with pytest.raises(ValueError, match="england, wales"):
        bank_holidays("scotland", 2027)
