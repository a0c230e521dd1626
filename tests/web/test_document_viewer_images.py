"""Pages rendered on the server: names boxed where they are, on any page, within the caps."""

from __future__ import annotations

import io
import math

import pikepdf
import pytest
from PIL import Image, ImageChops
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from exchange.errors import ValidationError
from exchange.redaction import page_images
from exchange.redaction.matcher import Matcher
from exchange.redaction.names import Person, build_match_set
from exchange.redaction.page_images import COLOURS, FLAGGED, REMOVED, Mark

SUBJECT = Person("pupil:1", "Maisie", "Thornbury")
OTHER = Person("pupil:2", "Ollie", "Pemberton")
MATCHER = Matcher(build_match_set([SUBJECT, OTHER], "pupil:1"))


def one_line_pdf(line: str, *, rotate: int = 0, size: tuple[float, float] = A4) -> bytes:
    """Return a one-page PDF with one line of text, the page turned by `rotate` degrees."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=size)
    page.setFont("Helvetica", 24)
    page.drawString(90, size[1] - 200, line)
    page.showPage()
    page.save()
    if not rotate:
        return buffer.getvalue()
    with pikepdf.open(io.BytesIO(buffer.getvalue())) as pdf:
        pdf.pages[0].Rotate = rotate
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def _dark(png: bytes) -> tuple[int, int, int, int] | None:
    """Return the bounding box of the dark (text) pixels."""
    image = Image.open(io.BytesIO(png)).convert("L")
    return image.point(lambda value: 255 if value < 100 else 0).getbbox()


def _colour(png: bytes, colour: tuple[int, int, int]) -> tuple[int, int, int, int] | None:
    """Return the bounding box of the pixels of exactly this colour."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    difference = ImageChops.difference(image, Image.new("RGB", image.size, colour)).convert("L")
    return difference.point(lambda value: 255 if value == 0 else 0).getbbox()


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_the_box_surrounds_the_name_on_a_page_turned_any_way(rotate: int) -> None:
    data = one_line_pdf("Ollie Pemberton", rotate=rotate)
    marks = page_images.locate_names(data, MATCHER)
    assert [(m.page, m.kind, m.label) for m in marks] == [(1, REMOVED, "R1")]
    text = _dark(page_images.render_page(data, page_images.PDF, 1))
    box = _colour(page_images.render_page(data, page_images.PDF, 1, marks), COLOURS[REMOVED])
    assert text is not None
    assert box is not None
    assert box[0] <= text[0]
    assert box[1] <= text[1]
    assert box[2] >= text[2]
    assert box[3] >= text[3]
    # The box hugs the name: no wider on either side than its label (R1) is.
    assert text[0] - box[0] < 12
    assert box[2] - text[2] < 40


def test_the_subject_is_not_boxed_and_an_uncertain_word_is_boxed_apart() -> None:
    data = one_line_pdf("Maisie Thornbury sat with Ollie at lunch")
    marks = page_images.locate_names(data, MATCHER)
    assert len(marks) == 1
    assert marks[0].kind in (REMOVED, page_images.UNCERTAIN)


def test_a_huge_page_stays_within_the_pixel_caps() -> None:
    data = one_line_pdf("Ollie Pemberton", size=(14400.0, 14400.0))
    png = page_images.render_page(data, page_images.PDF, 1)
    width, height = Image.open(io.BytesIO(png)).size
    assert width * height <= page_images.MAX_PIXELS
    assert max(width, height) <= page_images.MAX_SIDE


def test_an_a4_page_is_drawn_at_the_viewer_resolution() -> None:
    png = page_images.render_page(one_line_pdf("Hello"), page_images.PDF, 1)
    width, height = Image.open(io.BytesIO(png)).size
    assert (width, height) == (math.ceil(595.28 * 100 / 72), math.ceil(841.89 * 100 / 72))


def test_pages_beyond_the_cap_and_unknown_pages_are_refused() -> None:
    data = one_line_pdf("Hello")
    with pytest.raises(ValidationError, match="first 40 pages"):
        page_images.render_page(data, page_images.PDF, page_images.MAX_PAGES + 1)
    with pytest.raises(ValidationError, match="no such page"):
        page_images.render_page(data, page_images.PDF, 2)


def test_a_truncated_or_foreign_file_is_a_clear_error() -> None:
    data = one_line_pdf("Hello")
    for broken in (data[:300], b"PK\x03\x04 not a pdf"):
        with pytest.raises(ValidationError, match="cannot be read"):
            page_images.page_count(broken, page_images.PDF)
    with pytest.raises(ValidationError, match="cannot be shown"):
        page_images.render_page(data, "application/msword", 1)


def test_a_photo_is_shown_as_a_page_and_a_picture_bomb_is_refused() -> None:
    photo = io.BytesIO()
    Image.new("RGB", (300, 200), "white").save(photo, format="JPEG")
    assert page_images.page_count(photo.getvalue(), "image/jpeg") == 1
    png = page_images.render_page(photo.getvalue(), "image/jpeg", 1)
    assert Image.open(io.BytesIO(png)).size == (300, 200)
    bomb = io.BytesIO()
    Image.new("1", (10_000, 7_000)).save(bomb, format="PNG")
    with pytest.raises(ValidationError, match="too large"):
        page_images.page_count(bomb.getvalue(), "image/png")


def test_pictures_on_flagged_pages_and_boxes_in_the_report_are_marked() -> None:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    picture = io.BytesIO()
    Image.new("RGB", (200, 100), "grey").save(picture, format="PNG")
    from reportlab.lib.utils import ImageReader

    page.drawImage(ImageReader(picture), 72, 600, 200, 100)
    page.showPage()
    page.save()
    [mark] = page_images.locate_images(buffer.getvalue(), [1])
    assert (mark.kind, mark.label) == (FLAGGED, "F1")
    assert [round(v) for v in mark.box] == [72, 600, 272, 700]
    report = {
        "removed": [{"page": 1, "box": [10, 10, 50, 20]}, {"page": None, "box": [1, 2, 3, 4]}],
        "flags": [{"page": 2, "box": [1, 2, "x", 4]}],
        "check": {"hits": [{"page": 1, "box": [5, 5, 9, 9]}]},
    }
    found = page_images.report_marks(report)
    assert [(m.page, m.kind, m.label) for m in found] == [
        (1, REMOVED, "R1"),
        (1, page_images.UNCERTAIN, "U1"),
    ]
    png = page_images.render_page(
        buffer.getvalue(), page_images.PDF, 1, [Mark(1, mark.box, FLAGGED, "F1")]
    )
    drawn = _colour(png, COLOURS[FLAGGED])
    assert drawn is not None
    # The report's own boxes are measured from the top left of the page as shown.
    shown = Mark(1, (72.0, 100.0, 172.0, 120.0), REMOVED, "R1", page_images.SHOWN_SPACE)
    png = page_images.render_page(buffer.getvalue(), page_images.PDF, 1, [shown])
    left, top, right, bottom = _colour(png, COLOURS[REMOVED]) or (0, 0, 0, 0)
    assert abs(left - 98) <= 2
    assert abs(right - 241) <= 2
    assert abs(bottom - 170) <= 2
    assert top < 139  # The label sits above the box.
