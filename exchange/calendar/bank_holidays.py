"""Bank holidays in England and in Wales for any year, computed without the network."""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays

REGIONS = {"england": "ENG", "wales": "WLS"}


@cache
def bank_holidays(region: str, year: int) -> frozenset[date]:
    """Return the weekdays off for bank holidays of one year in England or Wales.

    A holiday on a weekend gives its substitute day instead, as GOV.UK lists them.
    """
    if region not in REGIONS:
        raise ValueError(f"bank holidays are known for {', '.join(REGIONS)}, not {region!r}")
    days = holidays.country_holidays("GB", subdiv=REGIONS[region], years=year)
    return frozenset(day for day in days if day.weekday() < 5)


def is_bank_holiday(day: date, region: str) -> bool:
    """Return whether a day is a bank holiday in the region."""
    return day in bank_holidays(region, day.year)
