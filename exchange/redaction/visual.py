"""Check what a reader sees: render each page with PDFium and look for names with OCR.

A text layer can lie (Ghostscript maps the "ff" ligature of "Griffin" to another character, so
every extractor reads "Gri?in"); the page image cannot. Any name OCR finds blocks the file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from exchange.redaction import ocr
from exchange.redaction.checker import Needle
from exchange.redaction.ocr_match import OcrHit, find_names

RENDER_DPI = 200
# Pages rendered to disk at a time, so a long document never fills the temporary folder.
PAGES_PER_BATCH = 10
POINTS_PER_INCH = 72


@dataclass(frozen=True)
class VisualHit:
    """A name seen on a rendered page, with its box in points from the page's top left."""

    person_id: str
    page: int
    box: tuple[float, float, float, float]
    fuzzy: bool


@dataclass
class VisualCheck:
    """Hold what the visual check found and how many pages it read."""

    pages: int = 0
    hits: list[VisualHit] = field(default_factory=list)


def check_pdf_visually(
    path: str | Path, needles: list[Needle], *, dpi: int = RENDER_DPI
) -> VisualCheck:
    """Render every page of a PDF, read it with tesseract and return the names seen."""
    result = VisualCheck()
    with tempfile.TemporaryDirectory(prefix="sgx-visual-") as folder:
        for first, images in render_batches(Path(path), Path(folder), dpi):
            pages = ocr.read_images(images, dpi=dpi)
            for offset, words in enumerate(pages):
                number = first + offset
                for hit in find_names(words, needles, number):
                    result.hits.append(to_points(hit, dpi))
            for image in images:
                image.unlink()
            result.pages += len(images)
    return result


def render_batches(path: Path, folder: Path, dpi: int) -> Iterator[tuple[int, list[Path]]]:
    """Yield (first page number, image files) for batches of rendered grey pages."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        count = len(document)
        for first in range(0, count, PAGES_PER_BATCH):
            images = []
            for index in range(first, min(first + PAGES_PER_BATCH, count)):
                images.append(render_page(document, index, folder / f"page-{index + 1}.pgm", dpi))
            yield first + 1, images
    finally:
        document.close()


def render_page(document: object, index: int, target: Path, dpi: int) -> Path:
    """Render one page (annotations and form fields included) to a greyscale PGM file."""
    page = document[index]  # type: ignore[index]
    try:
        bitmap = page.render(scale=dpi / POINTS_PER_INCH, grayscale=True, may_draw_forms=True)
        bitmap.to_pil().save(target)
        bitmap.close()
    finally:
        page.close()
    return target


def to_points(hit: OcrHit, dpi: int) -> VisualHit:
    """Convert a hit's pixel box to points from the top left of the page."""
    scale = POINTS_PER_INCH / dpi
    box = tuple(round(v * scale, 1) for v in hit.box)
    return VisualHit(hit.person_id, hit.page, box, hit.fuzzy)  # type: ignore[arg-type]
