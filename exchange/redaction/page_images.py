"""Render a document's pages to PNG on the server, with the redaction's marks drawn on them.

The viewer shows a DSL the original and the redacted pages side by side. Pages are rendered
here (PDFium for PDFs, Pillow for scans and photos), never in the browser, with caps on the
number of pages and on the pixels of each page so a hostile file cannot exhaust the server.
Marks are boxes either in PDF user space (points, origin bottom left: the names and pictures
found here, converted to pixels by PDFium itself so rotated and cropped pages line up) or, as
the redaction report gives them, in points from the top left of the page as it is shown.
"""

from __future__ import annotations

import ctypes
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from exchange.errors import ValidationError
from exchange.redaction.matcher import Matcher

# At most this many pages of one document are shown; the viewer says when there are more.
MAX_PAGES = 40
# A page is drawn at this resolution unless that would pass the pixel caps below.
DPI = 100
MAX_PIXELS = 2_500_000
MAX_SIDE = 2400
# Larger pictures than this are refused before they are decoded.
MAX_IMAGE_PIXELS = 60_000_000
PDF = "application/pdf"
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/tiff"})

REMOVED, UNCERTAIN, FLAGGED = "removed", "uncertain", "flagged"
# Colours with a contrast of at least 3:1 on white, as WCAG asks of graphics.
COLOURS = {REMOVED: (212, 53, 28), UNCERTAIN: (178, 80, 0), FLAGGED: (29, 112, 184)}
PREFIX = {REMOVED: "R", UNCERTAIN: "U", FLAGGED: "F"}
IMAGE_FLAGS = frozenset(
    {"image_may_contain_text", "image_only_page", "image_unreadable", "no_readable_text"}
)
# Where a box is measured from: PDF user space, or the top left of the page as shown.
PDF_SPACE, SHOWN_SPACE = "pdf", "shown"

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Mark:
    """One box to draw on a page: what it is, and the label the viewer lists it under."""

    page: int
    box: Box
    kind: str
    label: str
    space: str = PDF_SPACE


def can_render(media_type: str) -> bool:
    """Return whether documents of this type can be shown as pages."""
    return media_type == PDF or media_type in IMAGE_TYPES


def as_pages(data: bytes, media_type: str, name: str = "") -> tuple[bytes, str, bool]:
    """Return a document as something with pages: (bytes, media type, whether it was converted).

    PDFs and scans are shown as they are; Word, OpenDocument, RTF, email and text documents
    are converted to PDF as the redactor converts them (LibreOffice, or a laid-out page).
    """
    import tempfile
    from pathlib import Path

    from exchange.redaction import convert, formats

    with tempfile.TemporaryDirectory(prefix="sgx-view-") as folder:
        work = Path(folder)
        source = work / "original"
        source.write_bytes(data)
        kind = formats.kind_of(source, media_type, name)
        if kind == "pdf":
            return data, PDF, False
        if kind == "image":
            return data, _image_type(data), False
        if kind == "office":
            pdf = convert.office_to_pdf(source, work, media_type=media_type, name=name)
        elif kind == "email":
            pdf = convert.email_to_pdf(source, work)
        else:
            pdf = convert.text_to_pdf(source, work)
        return pdf.read_bytes(), PDF, True


def _image_type(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    return "image/tiff"


def page_count(data: bytes, media_type: str) -> int:
    """Return how many pages the document has (a clear error if it cannot be read)."""
    if media_type == PDF:
        with _open_pdf(data) as pdf:
            return len(pdf)
    with _open_image(data) as image:
        return int(getattr(image, "n_frames", 1))


def render_page(data: bytes, media_type: str, number: int, marks: Iterable[Mark] = ()) -> bytes:
    """Return page `number` (from 1) as a PNG with the marks for that page drawn on it."""
    if not 1 <= number <= MAX_PAGES:
        raise ValidationError(f"only the first {MAX_PAGES} pages can be shown")
    on_page = [mark for mark in marks if mark.page == number]
    if media_type == PDF:
        image, pixels = _render_pdf_page(data, number, on_page)
    elif media_type in IMAGE_TYPES:
        image, pixels = _render_image_page(data, number, on_page)
    else:
        raise ValidationError("this kind of document cannot be shown as pages")
    _draw(image, list(zip(on_page, pixels, strict=True)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def locate_names(data: bytes, matcher: Matcher, pages: int = MAX_PAGES) -> list[Mark]:
    """Return boxes round every name the matcher finds in a PDF's text, removed or uncertain."""
    marks: list[tuple[int, Box, str]] = []
    with _open_pdf(data) as pdf:
        for index in range(min(len(pdf), pages)):
            page = pdf[index]
            textpage = page.get_textpage()
            try:
                text = _page_text(textpage)
                for match in matcher.find(text):
                    if match.decision == "kept":
                        continue
                    kind = UNCERTAIN if match.decision == "needs_review" else REMOVED
                    for box in _line_boxes(textpage, match.start, match.end):
                        marks.append((index + 1, box, kind))
            finally:
                textpage.close()
                page.close()
    return _labelled(marks)


def locate_images(data: bytes, pages: Iterable[int]) -> list[Mark]:
    """Return boxes round the pictures on these pages of a PDF (where text may hide)."""
    import pypdfium2.raw as pdfium_c

    marks: list[tuple[int, Box, str]] = []
    with _open_pdf(data) as pdf:
        for number in sorted(set(pages)):
            if not 1 <= number <= min(len(pdf), MAX_PAGES):
                continue
            page = pdf[number - 1]
            try:
                for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
                    left, bottom, right, top = obj.get_bounds()
                    marks.append((number, (left, bottom, right, top), FLAGGED))
            finally:
                page.close()
    return _labelled(marks)


def report_marks(report: dict, pages: int = MAX_PAGES) -> list[Mark]:
    """Return the boxes a redaction report carries (left, top, right, bottom from the top left)."""
    found: list[tuple[int, Box, str]] = []
    entries = [(entry, REMOVED) for entry in report.get("removed") or []]
    for entry in report.get("flags") or []:
        reason = entry.get("reason") if isinstance(entry, dict) else None
        entries.append((entry, UNCERTAIN if reason == "possible_name" else FLAGGED))
    check = report.get("check") or {}
    entries += [(entry, UNCERTAIN) for entry in check.get("hits") or []]
    for entry, kind in entries:
        box = entry.get("box") if isinstance(entry, dict) else None
        page = entry.get("page") if isinstance(entry, dict) else None
        if not isinstance(page, int) or not 1 <= page <= pages or not _is_box(box):
            continue
        found.append((page, tuple(float(v) for v in box), kind))  # type: ignore[arg-type, union-attr]
    return _labelled(found, SHOWN_SPACE)


def boxed_pages(report: dict) -> set[int]:
    """Return the pages on which the report's flags already carry their own boxes."""
    return {
        flag["page"]
        for flag in report.get("flags") or []
        if isinstance(flag, dict) and isinstance(flag.get("page"), int) and _is_box(flag.get("box"))
    }


def relabel(marks: Sequence[Mark]) -> list[Mark]:
    """Return the marks numbered again in order (R1, R2, ..., U1, ..., F1, ...)."""
    counts: dict[str, int] = {}
    out = []
    for mark in sorted(marks, key=lambda m: m.page):
        counts[mark.kind] = counts.get(mark.kind, 0) + 1
        label = f"{PREFIX[mark.kind]}{counts[mark.kind]}"
        out.append(Mark(mark.page, mark.box, mark.kind, label, mark.space))
    return out


def _is_box(value: object) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 4
        and all(isinstance(v, int | float) and math.isfinite(v) for v in value)
    )


def _labelled(marks: Sequence[tuple[int, Box, str]], space: str = PDF_SPACE) -> list[Mark]:
    return relabel([Mark(page, box, kind, "", space) for page, box, kind in marks])


def _open_pdf(data: bytes):  # type: ignore[no-untyped-def]
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        raise ValidationError("the PDF cannot be read to show its pages") from error


def _open_image(data: bytes):  # type: ignore[no-untyped-def]
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValidationError("the picture cannot be read to show it") from error
    if image.width * image.height > MAX_IMAGE_PIXELS:
        image.close()
        raise ValidationError("the picture is too large to show")
    return image


def _scale(width: float, height: float, dots: float) -> float:
    """Return the scale from points (or pixels) that keeps a page within the caps."""
    scale = dots
    if width * height * scale * scale > MAX_PIXELS:
        scale = math.sqrt(MAX_PIXELS / (width * height))
    scale = min(scale, MAX_SIDE / max(width, height, 1.0))
    # PDFium rounds a bitmap's sides up: step down until the rounded picture fits the caps.
    while scale > 0.01 and (
        math.ceil(width * scale) * math.ceil(height * scale) > MAX_PIXELS
        or math.ceil(max(width, height) * scale) > MAX_SIDE
    ):
        scale *= 0.995
    return max(scale, 0.01)


def _render_pdf_page(data: bytes, number: int, marks: list[Mark]):  # type: ignore[no-untyped-def]
    """Return the page as a picture and the boxes in its pixels (converted while it is open)."""
    import pypdfium2.raw as pdfium_c

    with _open_pdf(data) as pdf:
        if number > len(pdf):
            raise ValidationError("the document has no such page")
        page = pdf[number - 1]
        try:
            width, height = page.get_size()
            scale = _scale(width, height, DPI / 72)
            bitmap = page.render(scale=scale, may_draw_forms=True)
            image = bitmap.to_pil().convert("RGB")
            pixels = [
                _to_device(pdfium_c, page, image.size, mark.box)
                if mark.space == PDF_SPACE
                else _shown(mark.box, scale)
                for mark in marks
            ]
            return image, pixels
        finally:
            page.close()


def _shown(box: Box, scale: float) -> tuple[int, int, int, int]:
    left, top, right, bottom = (round(v * scale) for v in box)
    return min(left, right), min(top, bottom), max(left, right), max(top, bottom)


def _to_device(pdfium_c, page, size: tuple[int, int], box: Box) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    xs, ys = [], []
    left, bottom, right, top = box
    for x, y in ((left, bottom), (right, top), (left, top), (right, bottom)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(
            page.raw, 0, 0, size[0], size[1], 0, x, y, ctypes.byref(dx), ctypes.byref(dy)
        )
        xs.append(dx.value)
        ys.append(dy.value)
    return min(xs), min(ys), max(xs), max(ys)


def _render_image_page(data: bytes, number: int, marks: list[Mark]):  # type: ignore[no-untyped-def]
    from PIL import ImageOps

    with _open_image(data) as image:
        if number > int(getattr(image, "n_frames", 1)):
            raise ValidationError("the document has no such page")
        image.seek(number - 1)
        dpi = _dpi_of(image)
        frame = ImageOps.exif_transpose(image.convert("RGB"))
    width, height = frame.size
    scale = min(_scale(width, height, 1.0), 1.0)
    if scale < 1.0:
        frame = frame.resize((max(1, int(width * scale)), max(1, int(height * scale))))

    def to_pixels(mark: Mark) -> tuple[int, int, int, int]:
        if mark.space == SHOWN_SPACE:  # Points of a page at the picture's own resolution.
            return _shown(mark.box, scale * dpi / 72)
        left, bottom, right, top = mark.box  # Pixels, origin bottom left.
        return _shown((left, height - top, right, height - bottom), scale)

    return frame, [to_pixels(mark) for mark in marks]


def _dpi_of(image) -> float:  # type: ignore[no-untyped-def]
    """Return the picture's resolution as the scan redactor reads it (points are 1/72 inch)."""
    from exchange.redaction.images import dpi_of

    return float(dpi_of(image))


def _draw(image, placed: list[tuple[Mark, tuple[int, int, int, int]]]) -> None:  # type: ignore[no-untyped-def]
    from PIL import ImageDraw, ImageFont

    if not placed:
        return
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(14, image.size[0] // 40))
    for mark, (left, top, right, bottom) in placed:
        colour = COLOURS[mark.kind]
        pad = 2
        draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), outline=colour, width=3)
        text_box = draw.textbbox((0, 0), mark.label, font=font)
        label_w, label_h = text_box[2] - text_box[0] + 6, text_box[3] - text_box[1] + 6
        x = max(0, left - pad)
        y = top - pad - label_h if top - pad - label_h >= 0 else bottom + pad
        draw.rectangle((x, y, x + label_w, y + label_h), fill=colour)
        draw.text((x + 3 - text_box[0], y + 3 - text_box[1]), mark.label, fill="white", font=font)


def _page_text(textpage) -> str:  # type: ignore[no-untyped-def]
    """Return the page's text with exactly one character per PDFium character index."""
    import pypdfium2.raw as pdfium_c

    characters = []
    for index in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
        if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            characters.append("\ufffd")
        else:
            characters.append(chr(code))
    return "".join(characters)


def _line_boxes(textpage, start: int, end: int) -> list[Box]:  # type: ignore[no-untyped-def]
    """Return one box per line for the characters start..end (a name can wrap)."""
    boxes: list[list[float]] = []
    for index in range(start, end):
        left, bottom, right, top = textpage.get_charbox(index)
        if right <= left and top <= bottom:
            continue  # A space or line break PDFium made up has no box.
        if boxes and _same_line(boxes[-1], bottom, top):
            last = boxes[-1]
            boxes[-1] = [min(last[0], left), min(last[1], bottom), max(last[2], right),
                         max(last[3], top)]  # fmt: skip
        else:
            boxes.append([left, bottom, right, top])
    return [(b[0], b[1], b[2], b[3]) for b in boxes]


def _same_line(box: list[float], bottom: float, top: float) -> bool:
    middle = (bottom + top) / 2
    return box[1] - 1 <= middle <= box[3] + 1
