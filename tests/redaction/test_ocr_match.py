"""Match names among OCR words: tolerant of OCR noise, not of ordinary words."""

from __future__ import annotations

import pytest

from exchange.redaction.checker import needles_for
from exchange.redaction.names import Person
from exchange.redaction.ocr import Word, parse_tsv
from exchange.redaction.ocr_match import find_names

PEOPLE = [
    Person("s1", "Rowan", "Pike"),
    Person("c1", "Griffin", "Talbot"),
    Person("c2", "Bailey", "Norris"),
    Person("c3", "Mark", "Ode"),
]
NEEDLES = needles_for(PEOPLE, "s1")


def line(*texts: str, confidence: float = 96.0, number: int = 1) -> list[Word]:
    """Return OCR words laid out left to right on one line."""
    return [
        Word(1, (1, 1, number), 100 * i, 50 * number, 90, 30, confidence, text)
        for i, text in enumerate(texts)
    ]


def seen(words: list[Word]) -> set[str]:
    return {hit.person_id for hit in find_names(words, NEEDLES, 1)}


@pytest.mark.parametrize(
    "texts",
    [
        ("said", "GRIFFIN'S", "coat"),
        ("said", "Gr1ffin", "left"),  # 1 for i.
        ("TALB0T,", "again"),  # 0 for O.
        ("user", "GriffinTalbot2014"),  # Camel case and digits.
        ("G", "r", "i", "f", "f", "i", "n", "shouted"),  # Letter-spaced.
        ("(Talbot-Smith)",),
    ],
)
def test_a_name_is_seen_through_case_punctuation_confusions_and_spacing(texts):
    assert seen(line(*texts)) == {"c1"}


def test_a_misread_long_name_counts_only_where_ocr_was_unsure():
    assert seen(line("said", "Grifin", confidence=70)) == {"c1"}
    assert seen(line("said", "Grifin", confidence=95)) == set()


def test_ordinary_words_near_a_name_do_not_count():
    # "barley" is one letter from "Bailey", read with confidence: an everyday word.
    assert seen(line("the", "barley", "field", "and", "the", "mark", "made")) == set()
    assert seen(line("Barley", "Norway", confidence=95)) == set()


def test_a_full_name_is_seen_across_a_line_break_and_fuzzily_side_by_side():
    words = [*line("then", "Bai-", number=1), *line("ley", "Norris", "cried", number=2)]
    hits = [h for h in find_names(words, NEEDLES, 1) if h.person_id == "c2"]
    assert hits
    assert all(h.page == 1 for h in hits)
    assert seen(line("Gritfin", "Talbol", confidence=97)) == {"c1"}


def test_the_subject_is_never_a_hit_and_the_box_covers_the_words():
    assert seen(line("Rowan", "Pike", "was", "upset")) == set()
    [hit] = [h for h in find_names(line("x", "Griffin"), NEEDLES, 3) if h.person_id == "c1"]
    assert (hit.page, hit.box) == (3, (100, 50, 190, 80))


def test_tesseract_tsv_is_parsed_per_page():
    header = "\t".join(
        [
            "level",
            "page_num",
            "block_num",
            "par_num",
            "line_num",
            "word_num",
            "left",
            "top",
            "width",
            "height",
            "conf",
            "text",
        ]
    )
    rows = [
        "1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t",
        "5\t1\t1\t1\t1\t1\t10\t20\t30\t40\t91.5\tGriffin",
        "5\t2\t1\t1\t1\t1\t1\t2\t3\t4\t12.0\tx",
        "5\t2\t1\t1\t1\t2\t1\t2\t3\t4\t50\t ",
    ]
    pages = parse_tsv("\n".join([header, *rows]), 2)
    assert [w.text for w in pages[0]] == ["Griffin"]
    assert pages[0][0].box == (10, 20, 40, 60)
    assert [(w.text, w.confidence) for w in pages[1]] == [("x", 12.0)]
