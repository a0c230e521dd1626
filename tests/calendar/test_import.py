"""Term dates imported from iCalendar and CSV files as local authorities publish them."""

from __future__ import annotations

from datetime import date

import pytest

from exchange.calendar import store
from exchange.calendar.importer import read_csv, read_file, read_ics
from exchange.errors import ValidationError
from exchange.records.models import School
from exchange.transfers.clock import deadline_for

# Terms as one event each, all-day events with exclusive DTEND, an INSET day, a half term.
TERMS_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Example County Council//Term dates//EN\r
BEGIN:VEVENT\r
UID:t1@example.org\r
DTSTAMP:20260101T000000Z\r
DTSTART;VALUE=DATE:20260903\r
DTEND;VALUE=DATE:20261219\r
SUMMARY:Autumn Term\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:h1@example.org\r
DTSTAMP:20260101T000000Z\r
DTSTART;VALUE=DATE:20261026\r
DTEND;VALUE=DATE:20261031\r
SUMMARY:October half term\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:t2@example.org\r
DTSTAMP:20260101T000000Z\r
DTSTART;VALUE=DATE:20270104\r
DTEND;VALUE=DATE:20270327\r
SUMMARY:Spring Term\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:i1@example.org\r
DTSTAMP:20260101T000000Z\r
DTSTART;VALUE=DATE:20270104\r
SUMMARY:INSET day (school closed to pupils)\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:x1@example.org\r
DTSTAMP:20260101T000000Z\r
DTSTART;VALUE=DATE:20261105\r
SUMMARY:Parents' evening\r
END:VEVENT\r
END:VCALENDAR\r
"""

# Holidays only: the terms are the stretches between them.
HOLIDAYS_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Example//EN\r
BEGIN:VEVENT\r
UID:a@example.org\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260723T000000\r
DTEND:20260902T000000\r
SUMMARY:Summer holiday\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:b@example.org\r
DTSTAMP:20260101T000000Z\r
DTSTART;VALUE=DATE:20261219\r
DTEND;VALUE=DATE:20270105\r
SUMMARY:Christmas holiday\r
END:VEVENT\r
END:VCALENDAR\r
"""

CSV = (
    b"Type,Start,End,Description\r\n"
    b"Term,03/09/2026,23/10/2026,Autumn 1\r\n"
    b"Holiday,26/10/2026,30/10/2026,Half term\r\n"
    b"Term,02/11/2026,18/12/2026,Autumn 2\r\n"
    b"Term starts,04/01/2027,,Spring 1 begins\r\n"
    b"Term ends,12/02/2027,,Spring 1 ends\r\n"
    b"INSET,,,\r\n"
    b"INSET day,04/01/2027,,Training\r\n"
)


def _school() -> School:
    return School(urn="100001", laestab="8881001", name="Test Primary", settings={})


def test_an_ics_with_terms_half_terms_and_inset_days_is_read() -> None:
    data = read_ics(TERMS_ICS)
    assert [(t.start, t.end, t.name) for t in data.terms] == [
        (date(2026, 9, 3), date(2026, 12, 18), "autumn term"),
        (date(2027, 1, 4), date(2027, 3, 26), "spring term"),
    ]
    assert [(c.start, c.end) for c in data.closures] == [(date(2026, 10, 26), date(2026, 10, 30))]
    assert data.inset_days == (date(2027, 1, 4),)


def test_an_imported_calendar_moves_the_deadline() -> None:
    school = _school()
    store.merge(school, read_file("terms-2026-27.ics", TERMS_ICS))
    assert not store.load(school).is_estimated(date(2026, 12, 18))
    # Pupils return on 5 January: 5, 6, 7, 8, 11.
    assert deadline_for(school, date(2026, 12, 18), date(2026, 12, 18)) == date(2027, 1, 11)
    # Half term is skipped: leaving Friday 23 October, back on 2 November.
    assert deadline_for(school, date(2026, 10, 23), date(2026, 10, 23)) == date(2026, 11, 6)


def test_holidays_alone_give_the_term_between_them() -> None:
    data = read_ics(HOLIDAYS_ICS)
    assert [(t.start, t.end) for t in data.terms] == [(date(2026, 9, 2), date(2026, 12, 18))]


def test_a_csv_with_rows_of_terms_pairs_and_inset_days_is_read() -> None:
    data = read_csv(CSV)
    assert [(t.start, t.end) for t in data.terms] == [
        (date(2026, 9, 3), date(2026, 10, 23)),
        (date(2026, 11, 2), date(2026, 12, 18)),
        (date(2027, 1, 4), date(2027, 2, 12)),
    ]
    assert data.inset_days == (date(2027, 1, 4),)


def test_importing_again_replaces_the_same_stretch_and_keeps_the_rest() -> None:
    school = _school()
    store.add_term(school, date(2025, 9, 3), date(2025, 12, 19))
    store.add_term(school, date(2026, 9, 1), date(2026, 12, 1))
    store.merge(school, read_csv(CSV))
    starts = [t.start for t in store.load(school).terms]
    assert starts == [date(2025, 9, 3), date(2026, 9, 3), date(2026, 11, 2), date(2027, 1, 4)]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("terms.ics", b"not a calendar", "not an iCalendar"),
        ("terms.csv", b"When,What\r\n2026-09-01,Term\r\n", "needs a header"),
        ("terms.csv", b"Type,Start\r\nTerm,31/02/2027\r\n", "is not a date"),
        ("terms.csv", b"Type,Start,End\r\nTerm,2027-09-01,2026-09-01\r\n", "run forwards"),
        ("terms.csv", b"Type,Start\r\nTerm starts,2027-09-01\r\n", "has no end"),
        ("terms.csv", "Type,Start\r\n".encode("utf-16"), "not UTF-8"),
        ("terms.xlsx", b"PK", "or a CSV"),
        ("terms.csv", b"Type,Start\r\n" + b"x" * 1_000_001, "at most"),
    ],
)
def test_a_bad_file_is_refused_with_a_reason(name: str, data: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        read_file(name, data)


def test_an_empty_import_is_refused() -> None:
    with pytest.raises(ValidationError, match="holds no terms"):
        store.merge(_school(), read_csv(b"Type,Start\r\nParents evening,2026-11-05\r\n"))


def test_overlapping_terms_are_refused() -> None:
    school = _school()
    store.add_term(school, date(2026, 9, 3), date(2026, 12, 18))
    with pytest.raises(ValidationError, match="overlaps"):
        store.add_term(school, date(2026, 12, 1), date(2027, 2, 1))
