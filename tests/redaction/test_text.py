"""Redact chronology text: each other child gets one stable pseudonym; doubts go to the DSL."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.errors import ValidationError
from exchange.redaction import Person, PseudonymBook, build_match_set, redact_text
from exchange.redaction.checker import check_text, needles_for
from exchange.redaction.pseudonyms import letters_for

SUBJECT = Person("s1", "Rowan", "Pike")
SIBLING = Person("s2", "Juniper", "Pike")
ELLERY = Person("c1", "Ellery", "Quorn", preferred_name="Ell", nicknames=("Bramble",))
ZOE = Person("c2", "Zoë", "Ward-Thomas")
WILL = Person("c3", "Will", "Ostrander")
OTHER_PIKE = Person("c4", "Tobin", "Pike")
STAFF = Person("t1", "Marian", "Ostrander", kind="staff")
PEOPLE = [SUBJECT, SIBLING, ELLERY, ZOE, WILL, OTHER_PIKE, STAFF]


def redact(text: str, decisions: dict[str, str] | None = None, book: PseudonymBook | None = None):
    """Redact text against the shared cast."""
    match_set = build_match_set(PEOPLE, "s1", ["s2"])
    return redact_text(text, match_set, book or PseudonymBook(), decisions)


def by_reason(result, reason: str) -> list:
    """Return the hits held back for one reason."""
    return [h for h in result.hits if reason in h.reasons]


def test_full_forename_surname_and_possessive_share_one_pseudonym() -> None:
    result = redact("Ellery Quorn hit Zoë. Later Ellery's bag and Quorn's coat went missing.")
    assert (
        result.text
        == "[Child A] hit [Child B]. Later [Child A]'s bag and [Child A]'s coat went missing."
    )
    assert {h.decision for h in result.hits} == {"redacted"}


def test_preferred_name_nickname_and_capitals() -> None:
    result = redact("ELL and bramble met ELLERY QUORN and ellery quorn.")
    assert result.text == "[Child A] and [Child A] met [Child A] and [Child A]."


def test_accents_and_accent_free_spellings() -> None:
    result = redact("Zoe and Zoë and ZOË WARD-THOMAS")
    assert result.text == "[Child A] and [Child A] and [Child A]"


def test_double_barrelled_parts_spaces_and_hyphenation() -> None:
    result = redact("Ward Thomas, Ward-Thomas, Thomas, Ward and Ward–\nThomas.")
    assert "Ward" not in result.text
    assert "Thomas" not in result.text


def test_subject_and_family_are_kept() -> None:
    result = redact("Rowan Pike told Juniper about it.")
    assert result.text == "Rowan Pike told Juniper about it."
    assert result.hits == []


def test_sibling_surname_shared_with_another_child_goes_to_review() -> None:
    result = redact("Tobin Pike shouted. Pike was sent out.")
    assert result.text.startswith("[Child A] shouted.")
    held = by_reason(result, "shared_with_subject_or_family")
    assert len(held) == 1
    assert held[0].person_ids == ("c4",)
    assert "Pike was sent out." in result.text


def test_staff_sharing_a_surname_goes_to_review_unless_a_title_says_adult() -> None:
    result = redact("Mrs Ostrander spoke to Will Ostrander. Ostrander left.")
    assert result.text == "Mrs Ostrander spoke to [Child A]. Ostrander left."
    assert len(by_reason(result, "shared_with_staff")) == 1


def test_ordinary_word_names_are_reviewed_and_lowercase_words_ignored() -> None:
    result = redact("Will was there. They will go. WILL agreed.")
    held = by_reason(result, "ordinary_word")
    assert len(held) == 2
    assert result.text == "Will was there. They will go. WILL agreed."
    assert result.needs_review


def test_initials_are_low_confidence() -> None:
    result = redact("E.Q. and E Q and EQ, but not eq.")
    assert len(by_reason(result, "initials")) == 3
    assert result.text == "E.Q. and E Q and EQ, but not eq."


def test_name_inside_a_longer_word_is_redacted_in_place() -> None:
    result = redact("Filed as QuornEllery and 2019Quorn.")
    assert len(by_reason(result, "inside_longer_word")) >= 1
    assert result.text == "Filed as [Child A] and 2019[Child A]."
    plain = redact("The quorns were cooked.")  # No camel case, no digits: not a name.
    assert plain.hits == []


def test_dsl_decisions_resolve_review_items() -> None:
    first = redact("Will was there.")
    key = first.hits[0].key
    redacted = redact("Will was there.", {key: "redact"})
    assert redacted.text == "[Child A] was there."
    kept = redact("Will was there.", {key: "not_a_child"})
    assert kept.text == "Will was there."
    assert kept.hits[0].decision == "not_a_child"
    with pytest.raises(ValidationError):
        redact("Will was there.", {key: "maybe"})


def test_pseudonyms_are_stable_across_one_bundle() -> None:
    book = PseudonymBook()
    redact("Zoë first.", book=book)
    second = redact("Ellery then Zoë.", book=book)
    assert second.text == "[Child B] then [Child A]."
    assert book.to_dict() == {"c2": "A", "c1": "B"}


def test_pseudonym_letters_go_past_z() -> None:
    assert [letters_for(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]


def test_hits_hold_ids_and_offsets_never_names() -> None:
    result = redact("Ellery Quorn and Will.")
    for hit in result.hits:
        serialised = str(hit.to_dict()).lower()
        assert "ellery" not in serialised
        assert "quorn" not in serialised
        assert "will" not in serialised


NAMES = [Person(f"g{i}", f, s) for i, (f, s) in enumerate([
    ("Talia", "Brenwick"), ("Osric", "Pellham"), ("Nadia", "Crowle"), ("Emrys", "Tolliver"),
    ("Saoirse", "Dunmore"), ("Kofi", "Anselm"), ("Leontyne", "Marsh-Abbott"), ("Idris", "Vale"),
])]  # fmt: skip
FILLER = ["the", "pupil", "said", "that", "in", "class", "and", "then", ",", ".", "\n", "bag"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(FILLER),
            st.builds(
                lambda p, style: style(f"{p.forename} {p.surname}"),
                st.sampled_from(NAMES),
                st.sampled_from([str, str.upper, str.lower, str.title]),
            ),
            st.builds(lambda p: f"{p.surname}'s", st.sampled_from(NAMES)),
        ),
        max_size=40,
    )
)
def test_no_generated_name_survives(words: list[str]) -> None:
    text = " ".join(words)
    match_set = build_match_set(NAMES)
    result = redact_text(text, match_set, PseudonymBook())
    assert check_text(result.text, needles_for(NAMES)).passed
