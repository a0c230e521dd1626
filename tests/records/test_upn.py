"""UPN validation against the DfE check-letter algorithm."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import ValidationError
from exchange.records.upn import CHECK_ALPHABET, check_letter, is_temporary, make_upn, validate_upn


def _hand_check(body: str) -> str:
    values = [int(c) if c.isdigit() else CHECK_ALPHABET.index(c) for c in body]
    return CHECK_ALPHABET[sum(v * w for v, w in zip(values, range(2, 14), strict=True)) % 23]


def test_published_example_is_valid() -> None:
    assert validate_upn("B801200005001") == "B801200005001"


def test_lower_case_and_spaces_are_normalised() -> None:
    assert validate_upn(" b801200005001 ") == "B801200005001"


@pytest.mark.parametrize(
    ("body", "letter"),
    [
        ("000000000000", "A"),  # sum 0
        ("000000000001", "P"),  # 13 -> index 13
        ("100000000000", "C"),  # 2 -> index 2
        ("801200005001", "B"),  # 8*2 + 1*4 + 2*5 + 5*10 + 1*13 = 93; 93 mod 23 = 1
    ],
)
def test_check_letter_matches_a_hand_computation(body: str, letter: str) -> None:
    assert check_letter(body) == _hand_check(body) == letter


def test_temporary_upn_ending_in_a_letter_is_valid() -> None:
    body = "80120000500A"
    upn = check_letter(body) + body
    assert validate_upn(upn) == upn
    assert is_temporary(upn)
    assert not is_temporary("B801200005001")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("B80120000500", "13 characters"),
        ("B8012000050011", "13 characters"),
        ("C801200005001", "check letter is 'C' but should be 'B'"),
        ("1801200005001", "check letter, 11 digits"),
        ("B8012000050A1", "check letter, 11 digits"),
        ("B80120000500I", "not a valid letter"),
    ],
)
def test_invalid_upns_say_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_upn(value)


@given(st.from_regex(r"\A\d{7}\Z"), st.integers(0, 99), st.integers(0, 999))
def test_made_upns_validate(laestab: str, year: int, serial: int) -> None:
    assert validate_upn(make_upn(laestab, year, serial))


@given(st.from_regex(r"\A\d{12}\Z"), st.integers(1, 12), st.integers(1, 9))
def test_every_single_digit_change_is_detected(body: str, position: int, delta: int) -> None:
    upn = check_letter(body) + body
    digits = list(upn)
    digits[position] = str((int(digits[position]) + delta) % 10)
    with pytest.raises(ValidationError, match="check letter"):
        validate_upn("".join(digits))
