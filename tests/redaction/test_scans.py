"""Scans and photos: names burned out of the pixels, metadata gone, the unreadable flagged."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from PIL import Image
from PIL.ExifTags import Base

from exchange.redaction.names import Person
from exchange.redaction.pipeline import process_document, process_pdf
from tests.redaction.producers import (
    ghostscript_render,
    handwriting_image,
    image_pdf,
    ocr_pdf,
    text_image,
)
from tests.redaction.tools import pdftotext, plain, qpdf_check

PEOPLE = [
    Person("s1", "Rowan", "Pike"),
    Person("c1", "Griffin", "Talbot"),
    Person("c2", "Ellery", "Quorn"),
]
LINES = [
    "Incident log, Year 5",
    "On Monday Griffin Talbot pushed Rowan Pike.",
    "Later Ellery Quorn's bag was found.",
]
NAMES = ["griffin", "talbot", "ellery", "quorn"]


def assert_burned(output: Path, tmp: Path) -> str:
    """Assert, with poppler and tesseract, that no name is left and the rest still reads."""
    seen = ocr_pdf(output, tmp)
    for name in NAMES:
        assert name not in seen, f"OCR still reads a name ({len(name)} letters)"
    assert "rowan pike" in seen
    assert "bag was found" in seen
    assert not any(name in plain(pdftotext(output)) for name in NAMES)
    assert qpdf_check(output).returncode == 0
    return seen


@pytest.mark.slow
def test_a_photo_with_exif_becomes_a_clean_pdf_with_the_names_burned_out(tmp_path):
    exif = Image.Exif()
    exif[Base.Artist] = "Griffin Talbot"
    exif[Base.ImageDescription] = "Ellery Quorn at camp"
    source = tmp_path / "photo.jpg"
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Ellery Quorn</x:xmpmeta>'
    text_image(LINES).save(source, dpi=(200, 200), exif=exif, xmp=xmp, quality=92)
    assert b"Ellery Quorn" in source.read_bytes()  # The premise: the metadata is there.
    output = tmp_path / "out.pdf"
    report = process_document(source, output, PEOPLE, media_type="image/jpeg", subject_id="s1")
    assert report.status == "clean"
    assert report.kind == "image"
    assert {r.pseudonym for r in report.removed} == {"[Child A]", "[Child B]"}
    assert_burned(output, tmp_path)
    raw = plain(output.read_bytes().decode("latin-1"))
    assert "exif" not in raw
    assert "xmpmeta" not in raw
    with pikepdf.open(output) as pdf:
        [image] = [pikepdf.PdfImage(x) for x in pdf.pages[0].get_images().values()]
        # Burned in the pixels: one image on the page, no box drawn over it.
        assert len(pdf.pages) == 1
        assert b"re" not in pdf.pages[0].Contents.read_bytes().split()
        assert image.width == 1200


@pytest.mark.slow
def test_a_ghostscript_scan_as_tiff_pages_and_png_is_redacted(tmp_path):
    page = tmp_path / "letter.pdf"
    page.write_bytes(image_pdf(text_image(LINES, dpi=150), caption="Letter from the office"))
    tiff = ghostscript_render(page, tmp_path / "scan.tiff", "tiffgray", 200)
    output = tmp_path / "tiff.pdf"
    report = process_document(tiff, output, PEOPLE, media_type="image/tiff", subject_id="s1")
    assert report.status == "clean"
    assert "letter from the office" in assert_burned(output, tmp_path)
    png = ghostscript_render(page, tmp_path / "scan.png", "pnggray", 300)
    report = process_document(png, tmp_path / "png.pdf", PEOPLE, subject_id="s1")
    assert report.status == "clean"
    assert_burned(tmp_path / "png.pdf", tmp_path)


@pytest.mark.slow
def test_an_image_inside_a_pdf_is_burned_and_the_text_layer_kept(tmp_path):
    source = tmp_path / "mixed.pdf"
    source.write_bytes(image_pdf(text_image(LINES), caption="Notes for Rowan Pike's file"))
    output = tmp_path / "out.pdf"
    report = process_pdf(source, output, PEOPLE, subject_id="s1")
    assert report.status == "clean"
    assert not [f for f in report.flags if f.reason == "image_may_contain_text"]
    assert "notes for rowan pike" in plain(pdftotext(output))
    assert_burned(output, tmp_path)


@pytest.mark.slow
def test_handwriting_is_flagged_with_its_page(tmp_path):
    source = tmp_path / "note.png"
    handwriting_image().save(source)
    output = tmp_path / "out.pdf"
    report = process_document(source, output, PEOPLE, subject_id="s1")
    assert report.status == "needs_review"
    assert [(f.page, f.reason) for f in report.flags] == [(1, "no_readable_text")]
    assert output.exists()


def test_a_damaged_picture_is_a_clear_error_with_no_output(tmp_path):
    source = tmp_path / "broken.png"
    buffer = io.BytesIO()
    text_image(["x"]).save(buffer, format="PNG")
    source.write_bytes(buffer.getvalue()[:200])
    with pytest.raises(Exception, match="cannot be read") as error:
        process_document(source, tmp_path / "out.pdf", PEOPLE, subject_id="s1")
    assert type(error.value).__name__ == "ValidationError"
    assert not (tmp_path / "out.pdf").exists()


def test_re_reading_finds_a_name_left_beside_a_burned_box_where_it_is(tmp_path):
    from exchange.redaction.checker import needles_for
    from exchange.redaction.images import Burned, PictureResult, _verify

    image = text_image(["On Monday Griffin Talbot pushed Rowan Pike."])
    # Pretend only "Monday" was burned: the name beside it must still be found, in place.
    result = PictureResult(image, 200, burned=[Burned(("c1",), "[Child A]", (200, 60, 330, 100))])
    _verify([result], needles_for(PEOPLE, "s1"), tmp_path)
    found = {hit.person_id: hit.box for hit in result.remaining}
    assert set(found) == {"c1"}
    left, top, right, bottom = found["c1"]
    assert 60 <= left < right < 900
    assert 50 < top < bottom < 110


@pytest.mark.slow
def test_a_picture_on_every_page_is_read_once_and_clears_every_page(tmp_path):
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    picture = io.BytesIO()
    text_image(["Hillside Primary School"], size=40).save(picture, format="PNG")
    source = tmp_path / "letterhead.pdf"
    c = canvas.Canvas(str(source), pagesize=(612, 792))
    for line in ("Griffin Talbot was absent.", "Rowan Pike was present."):
        c.drawImage(ImageReader(io.BytesIO(picture.getvalue())), 72, 700, width=300, height=40)
        c.drawString(72, 600, line)
        c.showPage()
    c.save()
    report = process_pdf(source, tmp_path / "out.pdf", PEOPLE, subject_id="s1")
    assert report.status == "clean", report.flags
    assert "hillside primary school" in ocr_pdf(tmp_path / "out.pdf", tmp_path)
