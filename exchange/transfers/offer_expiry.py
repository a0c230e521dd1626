"""When an offer expires: the school's usual validity, stretched over the summer holiday.

An offer made in July, or in the summer holiday, would lapse over the holiday while nobody
is in school to answer it. It stays valid until the end of the first week of the autumn term
(the fifth school day of that term, on the sending school's calendar) when that is later.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from exchange.calendar.store import load
from exchange.calendar.terms import SchoolCalendar
from exchange.records.models import School
from exchange.transfers.settings import school_setting

FIRST_WEEK_SCHOOL_DAYS = 5


def first_week_of_autumn_ends(calendar: SchoolCalendar, now: datetime) -> datetime | None:
    """Return the end of the autumn term's first week if `now` is in July or the summer
    holiday before it, else None."""
    today = now.astimezone(UTC).date()
    if today.month < 7:
        return None
    autumn = calendar.terms_of(today.year)[0]
    if today >= autumn.start:
        return None
    last = calendar.nth_school_day_after(autumn.start - timedelta(days=1), FIRST_WEEK_SCHOOL_DAYS)
    return datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)


def offer_expires_at(school: School, now: datetime) -> datetime:
    """Return when an offer made now expires."""
    usual = now + timedelta(days=school_setting(school, "offer_valid_days"))
    summer = first_week_of_autumn_ends(load(school), now)
    return max(usual, summer) if summer is not None else usual
