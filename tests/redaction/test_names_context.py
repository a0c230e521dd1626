"""The right words: adults by title, role or list; initials, compounds, usernames, nicknames.

Every name here is invented for the tests.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.redaction import Person, PseudonymBook, build_match_set, redact_text
from exchange.redaction.checker import check_text, needles_for
from exchange.redaction.diminutives import diminutives

OLIVER = Person("c1", "Oliver", "Smith")
CHLOE = Person("c2", "Chloë-Anne", "Baker")
TOM = Person("c3", "Thomas", "Jeffries")
SUBJECT = Person("s1", "Rowan", "Pike")
PEOPLE = [SUBJECT, OLIVER, CHLOE, TOM]


def redact(text: str, people: list[Person] | None = None) -> str:
    """Redact text against the cast and assert the independent check agrees."""
    people = people or PEOPLE
    result = redact_text(text, build_match_set(people, "s1"), PseudonymBook())
    check = check_text(result.text, needles_for(people, "s1"))
    assert check.passed, check.hits
    return result.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr Daniel Smith (class teacher) rang.", "Mr Daniel Smith (class teacher) rang."),
        ("Miss Jeffries took the register.", "Miss Jeffries took the register."),
        ("Dr. Smith saw him.", "Dr. Smith saw him."),
        ("Her mother Anne Smith came in.", "Her mother Anne Smith came in."),
        ("Jane Smith (mum) phoned.", "Jane Smith (mum) phoned."),
        ("Paul Baker, the form tutor, agreed.", "Paul Baker, the form tutor, agreed."),
        ("Smith's mum came in.", "[Child A]'s mum came in."),
        ("Oliver Smith (class teacher) hit him.", "[Child A] (class teacher) hit him."),
        ("Dear parent, Smith was upset.", "Dear parent, [Child A] was upset."),
        ("Mrs Smith. Smith hit him.", "Mrs Smith. [Child A] hit him."),
    ],
)  # fmt: skip
def test_an_adult_named_by_a_title_or_role_keeps_a_shared_surname(text: str, expected: str):
    assert redact(text) == expected


def test_adults_on_the_staff_and_contact_lists_are_kept() -> None:
    people = [*PEOPLE, Person("t1", "Daniel", "Smith", kind="staff"),
              Person("f1", "Anne", "Smith", kind="family")]  # fmt: skip
    text = "Daniel Smith and Anne Smith met Oliver Smith."
    result = redact_text(text, build_match_set(people, "s1"), PseudonymBook())
    assert result.text == "Daniel Smith and Anne Smith met [Child A]."


def test_hyphenated_and_accented_first_names_go_whole() -> None:
    assert redact("Chloë-Anne Baker and Chloe-Anne and CHLOË-ANNE left.") == (
        "[Child A] and [Child A] and [Child A] left."
    )
    only_first = [SUBJECT, Person("c9", "Chloë", "Baker")]
    assert redact("Chloë-Anne Baker left.", only_first) == "[Child A] left."


def test_a_later_part_of_a_hyphenated_first_name_alone_goes_to_review() -> None:
    result = redact_text("Anne Smith (mum) and Anne rang.", build_match_set(PEOPLE, "s1"),
                         PseudonymBook())  # fmt: skip
    assert result.text == "Anne Smith (mum) and Anne rang."
    assert {h.reasons for h in result.hits} == {("part_of_first_name",)}
    assert check_text(result.text, needles_for(PEOPLE, "s1")).passed


def test_initials_next_to_a_removed_name_go_with_it() -> None:
    assert redact("O. Smith's bag and O Smith and Oliver S. and Tom J. left.") == (
        "[Child A]'s bag and [Child A] and [Child A] and [Child B] left."
    )


def test_register_order_and_email_forms_become_one_pseudonym() -> None:
    assert redact("SMITH, Oliver (Y6) and o.smith@example.invalid and smith_oliver") == (
        "[Child A] (Y6) and [Child A]@example.invalid and [Child A]"
    )


def test_names_glued_into_usernames_and_emails_are_redacted_in_place() -> None:
    text = "Logged in as OliverSmith2014, then oliver.smith@example.invalid and 2014OliverSmith."
    assert redact(text) == (
        "Logged in as [Child A]2014, then [Child A]@example.invalid and 2014[Child A]."
    )


def test_diminutives_from_the_list_and_known_as_names() -> None:
    assert {"ollie", "olly"} <= set(diminutives("Oliver"))
    assert "tom" in diminutives("Thomas")
    assert all(len(n) >= 3 for n in diminutives("Alexander"))
    known = [SUBJECT, Person("c1", "Oliver", "Smith", preferred_name="Bear")]
    assert redact("Ollie, Olly, Tommy and Bear came; Olly Smith left.", [*known, TOM]) == (
        "[Child A], [Child A], [Child B] and [Child A] came; [Child A] left."
    )


def test_soft_hyphens_and_letter_spacing_in_text() -> None:
    assert redact("Oli\u00adver and Smi\u00adth and S m i t h and O l i v e r  S m i t h.") == (
        "[Child A] and [Child A] and [Child A] and [Child A]."
    )
    assert redact("A b c and a spaced S  m  i  t  h.") == "A b c and a spaced [Child A]."
    # With no wider gap between words, a name is found anywhere in the closed-up letters.
    assert redact("J o h n S m i t h left.") == "J o h n [Child A] left."


def test_the_check_sees_soft_hyphens_and_letter_spacing() -> None:
    needles = needles_for(PEOPLE, "s1")
    for text in ("Smi\u00adth was here", "S m i t h was here", "Oli-\nver went"):
        assert not check_text(text, needles).passed, repr(text)


NAMES = [
    Person("g1", "Talia", "Brenwick"),
    Person("g2", "Osric", "Pellham"),
    Person("g3", "Saoirse", "Dunmore"),
    Person("g4", "Leontyne", "Marsh-Abbott"),
]


def _soft(word: str) -> str:
    return "\u00ad".join(word[i : i + 2] for i in range(0, len(word), 2))


def _spaced(word: str) -> str:
    return " ".join(word)


ROLE_AND_FILLER = ["the", "pupil", "said", "and", ",", ".", "\n", "Mr", "bag", "mum", "Grandma",
                   "(class teacher)", "Jane", "social worker", "step-dad"]  # fmt: skip
STYLES = [str, str.upper, _soft, _spaced, lambda w: w + "2014", lambda w: w + "'s"]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(ROLE_AND_FILLER),
            st.builds(
                lambda person, style, full: style(
                    f"{person.forename} {person.surname}" if full else person.surname
                ),
                st.sampled_from(NAMES),
                st.sampled_from(STYLES),
                st.booleans(),
            ),
        ),
        max_size=30,
    )
)
def test_no_spelling_of_a_generated_name_survives(words: list[str]) -> None:
    text = " ".join(words)
    result = redact_text(text, build_match_set(NAMES), PseudonymBook())
    check = check_text(result.text, needles_for(NAMES))
    assert check.passed, (text, result.text)
