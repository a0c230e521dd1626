"""Adults named by a title or role: OCR and the visual check decide as the text redactor does."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from reportlab.pdfgen import canvas

from exchange.redaction.checker import needles_for
from exchange.redaction.names import Person
from exchange.redaction.ocr import Word
from exchange.redaction.ocr_match import find_names
from exchange.redaction.pipeline import process_document, process_pdf, process_text
from tests.redaction.producers import ghostscript_render, image_pdf, ocr_pdf
from tests.redaction.tools import pdftotext, plain

PEOPLE = [Person("s1", "Rowan", "Pike"), Person("c1", "Oliver", "Smith")]
NEEDLES = needles_for(PEOPLE, "s1")
LINES = [
    "Meeting notes for Rowan Pike",
    "Oliver Smith waited outside the hall.",
    "Mr Daniel Smith (class teacher) spoke to Rowan.",
    "Later Smith was found in the corridor.",
]
SENTENCES = [
    "Mr Daniel Smith (class teacher) spoke to Rowan.",
    "Mrs Smith rang the office.",
    "Miss Smith's class went out.",
    "Smith, class teacher, came in.",
    "Smith (form tutor) came in.",
    "Later Smith was found in the corridor.",
    "Oliver Smith waited outside.",
    "Mr Oliver Smith waited outside.",
    "Smith's coat was wet.",
    "She told Smith to wait.",
]


def ocr_line(text: str) -> list[Word]:
    """Return a sentence as OCR words laid out on one line, read with confidence."""
    return [
        Word(1, (1, 1, 1), 120 * i, 50, 100, 30, 95.0, word)
        for i, word in enumerate(text.split(" "))
    ]


@pytest.mark.parametrize("sentence", SENTENCES)
def test_ocr_keeps_exactly_the_single_names_the_text_redactor_keeps(sentence):
    redacted, _report = process_text(sentence, PEOPLE, subject_id="s1")
    text_removes = "[Child A]" in redacted.text
    ocr_sees = any(hit.person_id == "c1" for hit in find_names(ocr_line(sentence), NEEDLES, 1))
    assert ocr_sees == text_removes


def test_a_title_on_another_line_does_not_make_a_name_an_adults():
    words = [
        *ocr_line("Mr"),
        *[
            Word(1, (1, 1, 2), 120 * i, 100, 100, 30, 95.0, word)
            for i, word in enumerate(["Smith", "was", "upset."])
        ],
    ]
    assert [hit.person_id for hit in find_names(words, NEEDLES, 1)] == ["c1"]


def test_re_reading_around_a_burned_box_keeps_the_adult_found_on_the_whole_line(tmp_path):
    from exchange.redaction import ocr
    from exchange.redaction.images import Burned, PictureResult, _verify
    from tests.redaction.producers import text_image

    image = text_image(["Mr Daniel Smith came in with the others."])
    image.save(tmp_path / "line.pgm")
    [words] = ocr.read_images([tmp_path / "line.pgm"], dpi=200)
    [smith] = [w for w in words if w.text == "Smith"]
    [came] = [w for w in words if w.text == "came"]
    # Pretend a box starting inside "Smith" was burned: its surroundings (two heights either
    # side) show "Smith came in" without the "Mr Daniel" that made the name an adult's.
    tall = smith.height
    burned = [Burned(("c1",), "[Child A]", (smith.left + 2 * tall - 4, smith.top, *came.box[2:]))]
    without = PictureResult(image.copy(), 200, burned=list(burned))
    _verify([without], NEEDLES, tmp_path)
    assert [hit.person_id for hit in without.remaining] == ["c1"]  # The premise.
    decided = PictureResult(image.copy(), 200, burned=list(burned), kept=[smith.box])
    _verify([decided], NEEDLES, tmp_path)
    assert decided.remaining == []


@pytest.fixture(scope="module")
def letter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A typed letter (ReportLab) naming the child, an adult with a title, and the child again."""
    path = tmp_path_factory.mktemp("adults") / "letter.pdf"
    page = canvas.Canvas(str(path), pagesize=(595, 842))
    page.setFont("Helvetica", 14)
    for index, line in enumerate(LINES):
        page.drawString(72, 760 - 30 * index, line)
    page.save()
    return path


def assert_adult_stays_child_gone(output: Path, tmp: Path) -> None:
    """Assert with poppler and tesseract that the teacher is on the page and the child is not."""
    seen = ocr_pdf(output, tmp)
    assert "daniel smith (class teacher)" in seen
    assert "oliver" not in seen
    assert seen.count("smith") == 1, "OCR reads the child's surname beside the adult's"
    assert "rowan pike" in seen
    assert "oliver" not in plain(pdftotext(output))


@pytest.mark.slow
def test_a_scan_keeps_the_teacher_and_burns_the_child(letter, tmp_path):
    scan = ghostscript_render(letter, tmp_path / "scan.png", "pnggray", 300)
    output = tmp_path / "out.pdf"
    report = process_document(scan, output, PEOPLE, media_type="image/png", subject_id="s1")
    assert report.status == "clean", report.to_dict()
    assert {r.person_ids for r in report.removed} == {("c1",)}
    assert_adult_stays_child_gone(output, tmp_path)


@pytest.mark.slow
def test_a_page_image_in_a_pdf_keeps_the_teacher_and_burns_the_child(letter, tmp_path):
    scan = ghostscript_render(letter, tmp_path / "scan.png", "pnggray", 200)
    source = tmp_path / "mixed.pdf"
    with Image.open(scan) as picture:
        source.write_bytes(image_pdf(picture.copy(), caption="Notes for Rowan Pike"))
    output = tmp_path / "out.pdf"
    report = process_pdf(source, output, PEOPLE, subject_id="s1")
    assert report.status == "clean", report.to_dict()
    assert "tesseract_rendered_pages" in report.check.tools
    assert_adult_stays_child_gone(output, tmp_path)


@pytest.mark.slow
def test_the_visual_check_no_longer_blocks_a_teacher_the_text_layer_keeps(letter, tmp_path):
    output = tmp_path / "out.pdf"
    report = process_pdf(letter, output, PEOPLE, subject_id="s1")
    assert report.status == "clean", report.to_dict()
    assert "tesseract_rendered_pages" in report.check.tools
    assert "mr daniel smith (class teacher)" in plain(pdftotext(output))
    assert_adult_stays_child_gone(output, tmp_path)
