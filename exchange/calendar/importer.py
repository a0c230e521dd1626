"""Read term dates as local authorities publish them: an iCalendar (.ics) or a CSV file.

Each event or row is sorted by its words: INSET or training days, holidays and half terms
(closures), and terms. A term may be one event from its first to its last day, or a pair of
"starts" and "ends" events. A file of holidays alone is read as the terms between them.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from itertools import pairwise

from icalendar import Calendar

from exchange.calendar.store import CalendarData
from exchange.calendar.terms import Term, term_name
from exchange.errors import ValidationError

MAX_BYTES = 1_000_000
MAX_EVENTS = 2000
INSET = re.compile(
    r"\b(inset|training|staff development|professional development|non[- ]pupil)", re.I
)
CLOSURE = re.compile(r"\b(holiday|half[- ]?term|break|closed|closure)", re.I)
TERM = re.compile(r"\bterm\b", re.I)
START = re.compile(r"\b(starts?|begins?|opens?|first day)\b", re.I)
END = re.compile(r"\b(ends?|finish(es)?|closes?|last day)\b", re.I)


def _kind(words: str) -> str | None:
    if INSET.search(words):
        return "inset"
    if CLOSURE.search(words):
        return "closure"
    if TERM.search(words):
        if START.search(words) and not END.search(words):
            return "term_start"
        if END.search(words) and not START.search(words):
            return "term_end"
        return "term"
    return None


def _collect(events: list[tuple[str, date, date]]) -> CalendarData:
    """Sort (words, first day, last day) events into terms, closures and INSET days."""
    terms, closures, inset, starts, ends = [], [], set(), [], []
    for words, first, last in events:
        if last < first or (last - first).days > 400:
            raise ValidationError(f"the event {words[:60]!r} does not run forwards within a year")
        kind = _kind(words)
        if kind == "inset":
            inset.update(first + timedelta(days=n) for n in range((last - first).days + 1))
        elif kind == "closure":
            closures.append(Term(first, last, words[:80]))
        elif kind == "term":
            terms.append(Term(first, last, term_name(first)))
        elif kind == "term_start":
            starts.append(first)
        elif kind == "term_end":
            ends.append(last)
    terms.extend(_pair(sorted(starts), sorted(ends)))
    if not terms and len(closures) >= 2:
        terms = _between(sorted(closures))
    return CalendarData(tuple(sorted(terms)), tuple(sorted(closures)), tuple(sorted(inset)))


def _pair(starts: list[date], ends: list[date]) -> list[Term]:
    paired = []
    for start in starts:
        end = next((e for e in ends if e >= start), None)
        if end is None:
            raise ValidationError(f"the term starting {start} has no end in the file")
        ends.remove(end)
        paired.append(Term(start, end, term_name(start)))
    return paired


def _between(closures: list[Term]) -> list[Term]:
    terms = []
    for before, after in pairwise(closures):
        start, end = before.end + timedelta(days=1), after.start - timedelta(days=1)
        if start <= end:
            terms.append(Term(start, end, term_name(start)))
    return terms


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def read_ics(data: bytes) -> CalendarData:
    """Return the terms, closures and INSET days of an iCalendar file."""
    if len(data) > MAX_BYTES:
        raise ValidationError(f"a calendar file may be at most {MAX_BYTES // 1000} kB")
    try:
        calendar = Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise ValidationError("the file is not an iCalendar file") from exc
    events = []
    for event in calendar.walk("VEVENT"):
        if len(events) >= MAX_EVENTS:
            raise ValidationError(f"a calendar file may hold at most {MAX_EVENTS} events")
        start = event.get("DTSTART")
        if start is None:
            continue
        first = _as_date(start.dt)
        end = event.get("DTEND")
        if end is None:
            last = first
        elif isinstance(end.dt, datetime):
            # An event ending at midnight ends the day before.
            midnight = end.dt.time() == datetime.min.time()
            last = max(first, end.dt.date() - timedelta(days=1 if midnight else 0))
        else:
            last = max(first, end.dt - timedelta(days=1))  # An all-day DTEND is exclusive.
        words = " ".join(str(event.get(key, "")) for key in ("SUMMARY", "CATEGORIES"))
        events.append((words, first, last))
    return _collect(events)


def _parse_day(text: str) -> date:
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %B %Y", "%d %b %Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValidationError(f"{text[:40]!r} is not a date (use 2026-09-03 or 03/09/2026)")


def read_csv(data: bytes) -> CalendarData:
    """Return the terms, closures and INSET days of a CSV file with a header row.

    The columns are `start` (or `date`), an optional `end`, and `type` and/or `description`
    (`name`, `event`, `summary`) whose words say what each row is.
    """
    if len(data) > MAX_BYTES:
        raise ValidationError(f"a calendar file may be at most {MAX_BYTES // 1000} kB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("the CSV file is not UTF-8 text") from exc
    rows = csv.DictReader(io.StringIO(text))
    fields = {name.strip().lower(): name for name in rows.fieldnames or []}
    start_col = fields.get("start") or fields.get("date") or fields.get("start date")
    end_col = fields.get("end") or fields.get("end date")
    word_cols = [
        fields[n] for n in ("type", "description", "name", "event", "summary") if n in fields
    ]
    if not start_col or not word_cols:
        raise ValidationError("the CSV needs a header with start (or date) and type or description")
    events = []
    for number, row in enumerate(rows, start=2):
        if number > MAX_EVENTS:
            raise ValidationError(f"a calendar file may hold at most {MAX_EVENTS} rows")
        if not (row.get(start_col) or "").strip():
            continue
        first = _parse_day(row[start_col])
        last = _parse_day(row[end_col]) if end_col and (row.get(end_col) or "").strip() else first
        events.append((" ".join((row.get(c) or "") for c in word_cols), first, last))
    return _collect(events)


def read_file(name: str, data: bytes) -> CalendarData:
    """Read a calendar file by its name's ending (.ics or .csv)."""
    lowered = name.lower()
    if lowered.endswith((".ics", ".ical", ".ifb")):
        return read_ics(data)
    if lowered.endswith(".csv"):
        return read_csv(data)
    raise ValidationError("import an iCalendar (.ics) or a CSV (.csv) file")
