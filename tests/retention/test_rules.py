"""Rule parsing and dates: 25th birthday, 29 February, Europe/London days, category rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from exchange.errors import ValidationError
from exchange.retention.rules import (
    DEFAULT_RULE,
    RuleSet,
    add_years,
    is_due,
    london_date,
    parse_rule,
    parse_sender_copy,
    rule_date,
    sender_copy_until,
)


def test_the_default_rule_is_the_25th_birthday() -> None:
    assert DEFAULT_RULE == "dob+25y"
    assert rule_date(date(2008, 5, 17), DEFAULT_RULE) == date(2033, 5, 17)


@pytest.mark.parametrize("rule", ["dob+25", "25y", "dob+0y", "dob+-3y", "dob + 25y", "dob+151y"])
def test_malformed_rules_are_refused(rule: str) -> None:
    with pytest.raises(ValidationError):
        parse_rule(rule)


def test_29_february_reaches_its_anniversary_on_1_march_in_a_common_year() -> None:
    assert add_years(date(2008, 2, 29), 25) == date(2033, 3, 1)
    assert add_years(date(2008, 2, 29), 24) == date(2032, 2, 29)
    assert add_years(date(2008, 2, 28), 25) == date(2033, 2, 28)


@pytest.mark.parametrize(
    ("retain_until", "as_of", "due"),
    [
        (date(2033, 5, 17), date(2033, 5, 16), False),
        (date(2033, 5, 17), date(2033, 5, 17), False),
        (date(2033, 5, 17), date(2033, 5, 18), True),
        (date(2033, 3, 1), date(2033, 2, 28), False),
        (date(2033, 3, 1), date(2033, 3, 1), False),
        (date(2033, 3, 1), date(2033, 3, 2), True),
        (None, date(2099, 1, 1), False),
    ],
)
def test_a_record_is_due_from_the_day_after_its_last_day(
    retain_until: date | None, as_of: date, due: bool
) -> None:
    assert is_due(retain_until, as_of) is due


def test_the_day_is_the_london_day_in_summer_and_winter() -> None:
    # 23:30 UTC in British Summer Time is already 00:30 the next day in London.
    assert london_date(datetime(2033, 5, 17, 23, 30, tzinfo=UTC)) == date(2033, 5, 18)
    assert london_date(datetime(2033, 5, 17, 22, 59, tzinfo=UTC)) == date(2033, 5, 17)
    # In winter London is on UTC.
    assert london_date(datetime(2033, 1, 17, 23, 30, tzinfo=UTC)) == date(2033, 1, 17)
    assert london_date(datetime(2033, 1, 18, 0, 0, tzinfo=UTC)) == date(2033, 1, 18)


def test_the_most_specific_category_rule_applies_and_the_longest_wins() -> None:
    rules = RuleSet(
        1,
        categories={
            "SEN": "dob+31y",
            "Child Protection": "dob+35y",
            "Child Protection/Neglect": "dob+30y",
        },
    )
    assert rules.rule_for_path("SEN/EHCP review") == "dob+31y"
    assert rules.rule_for_path("SENCO notes") == DEFAULT_RULE
    assert rules.rule_for_path("Child Protection/Neglect") == "dob+30y"
    assert rules.rule_for_path("Child Protection/Sexual abuse") == "dob+35y"
    assert rules.rule_for_paths(["Bullying", "SEN"]) == "dob+31y"
    assert rules.rule_for_paths([]) == DEFAULT_RULE


def test_a_rule_set_round_trips_through_json() -> None:
    rules = RuleSet(3, "dob+26y", {"SEN": "dob+31y"}, 30)
    assert RuleSet.from_json(3, rules.to_json()) == rules
    assert RuleSet.from_json(1, RuleSet().to_json()).sender_copy_days is None


@pytest.mark.parametrize("value", [0, -1, "soon", True, {"destroy_after_days": 0}, 100_000])
def test_bad_sender_copy_settings_are_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        parse_sender_copy(value)


def test_the_sender_copy_goes_on_the_nth_london_day_after_the_receipt() -> None:
    verified = datetime(2030, 7, 9, 23, 30, tzinfo=UTC)  # 00:30 on 10 July in London.
    assert sender_copy_until(verified, 30) == date(2030, 8, 8)
    assert is_due(sender_copy_until(verified, 30), date(2030, 8, 9))
    assert not is_due(sender_copy_until(verified, 30), date(2030, 8, 8))
