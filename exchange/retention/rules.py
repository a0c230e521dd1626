"""Retention rules and dates: the 25th birthday by default, per-category rules, London days.

A record's ``retain_until`` is the last day it is kept. It becomes due at the start of the next
day in Europe/London, so a purge run on day D (a London date) destroys what has
``retain_until < D``. A child born on 29 February reaches an anniversary in a common year on
1 March: retention is then never shorter than the full number of years.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from exchange.errors import ValidationError
from exchange.retention.floor import Floors, floor_rule

DEFAULT_RULE = "dob+25y"
UNKNOWN_DOB_RULE = "unknown-dob"
RULES_FORMAT = 1
LONDON = ZoneInfo("Europe/London")
SENDER_COPY_KEEP = "keep"
DEFAULT_KEY = "default"
MAX_YEARS = 150
MAX_SENDER_COPY_DAYS = 36_500

_RULE = re.compile(r"dob\+(\d{1,3})y")


def parse_rule(rule: str) -> int:
    """Return the years after the date of birth that a rule like 'dob+31y' keeps a record."""
    match = _RULE.fullmatch(rule.strip()) if isinstance(rule, str) else None
    if match is None:
        raise ValidationError(f"rule {rule!r} is not of the form dob+<years>y, e.g. {DEFAULT_RULE}")
    years = int(match.group(1))
    if not 1 <= years <= MAX_YEARS:
        raise ValidationError(f"rule {rule!r}: years must be between 1 and {MAX_YEARS}")
    return years


def add_years(day: date, years: int) -> date:
    """Return the anniversary of day after years; 29 February falls on 1 March in common years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def rule_date(date_of_birth: date | None, rule: str) -> date | None:
    """Return the last day a rule keeps a record, or None when the date of birth is unknown."""
    years = parse_rule(rule)
    return None if date_of_birth is None else add_years(date_of_birth, years)


def london_date(moment: datetime) -> date:
    """Return the calendar date in Europe/London at an aware moment."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LONDON).date()


def london_today(now: datetime | None = None) -> date:
    """Return today's date in Europe/London."""
    return london_date(now or datetime.now(UTC))


def is_due(retain_until: date | None, as_of: date) -> bool:
    """Return whether a purge run on the London date as_of destroys a record kept until then."""
    return retain_until is not None and retain_until < as_of


def sender_copy_until(verified_at: datetime, days: int) -> date:
    """Return the last day the sender keeps its copy: due on the Nth day after the receipt."""
    return london_date(verified_at) + timedelta(days=days - 1)


def path_covers(parent: str, path: str) -> bool:
    """Return whether a category path is parent or one of its subcategories."""
    return path == parent or path.startswith(parent + "/")


@dataclass(frozen=True)
class RuleSet:
    """One version of a school's rules: a default, per-category rules and the sender copy."""

    version: int = 0
    default: str = DEFAULT_RULE
    categories: Mapping[str, str] = field(default_factory=dict)
    sender_copy_days: int | None = None
    floors: Floors = field(default_factory=Floors, compare=False)

    def rule_for_path(self, path: str) -> str:
        """Return the rule of the most specific category rule covering path, else the default."""
        best = None
        for parent, rule in self.categories.items():
            if path_covers(parent, path) and (best is None or len(parent) > len(best[0])):
                best = (parent, rule)
        return self.default if best is None else best[1]

    def rule_for_paths(self, paths: Iterable[str]) -> str:
        """Return the longest-keeping rule among a record's categories (default if none).

        Never below the statutory floor of the record's class, whatever a stored rule says.
        """
        paths = list(paths)
        rules = {self.rule_for_path(path) for path in paths} or {self.default}
        best = max(sorted(rules), key=parse_rule)
        least = self.floors.years_for(paths)
        return best if parse_rule(best) >= least else floor_rule(least)

    def years_for(self, paths: Iterable[str]) -> int:
        """Return the years a record in these categories is kept, floor included."""
        return parse_rule(self.rule_for_paths(paths))

    def to_json(self) -> dict[str, Any]:
        """Return the stored JSON form (format 1)."""
        sender: Any = SENDER_COPY_KEEP
        if self.sender_copy_days is not None:
            sender = {"destroy_after_days": self.sender_copy_days}
        return {
            "format": RULES_FORMAT,
            "default": self.default,
            "categories": dict(sorted(self.categories.items())),
            "sender_copy": sender,
        }

    @classmethod
    def from_json(cls, version: int, data: Mapping[str, Any]) -> RuleSet:
        """Load and check a stored rule set."""
        if data.get("format") != RULES_FORMAT:
            raise ValidationError(f"unknown retention rules format {data.get('format')!r}")
        default = str(data.get("default", DEFAULT_RULE))
        categories = {str(k): str(v) for k, v in dict(data.get("categories") or {}).items()}
        for rule in (default, *categories.values()):
            parse_rule(rule)
        return cls(version, default, categories, parse_sender_copy(data.get("sender_copy")))


def parse_sender_copy(value: Any) -> int | None:
    """Return the days after a verified receipt the sender keeps its copy, None to keep it."""
    if value in (None, SENDER_COPY_KEEP):
        return None
    days = value.get("destroy_after_days") if isinstance(value, Mapping) else value
    if isinstance(days, str) and days.isdigit():
        days = int(days)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_SENDER_COPY_DAYS:
        raise ValidationError(
            f"sender copy must be {SENDER_COPY_KEEP!r} or a number of days from 1 to "
            f"{MAX_SENDER_COPY_DAYS}"
        )
    return days
