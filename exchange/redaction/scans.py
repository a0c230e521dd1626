"""Redact the pictures of a document: JPEG/PNG/TIFF scans, and the images inside a PDF.

A scan becomes a PDF of lossless image pages built from the verified pixels, so what was read
again is exactly what is sent. Images inside a PDF are replaced in place by their burned,
re-encoded pixels; every image read loses its metadata (EXIF, XMP) on the way.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pikepdf
from PIL import Image, ImageSequence, UnidentifiedImageError

from exchange.errors import ValidationError
from exchange.redaction.checker import Needle
from exchange.redaction.images import (
    DEFAULT_DPI,
    PictureResult,
    clean_copy,
    dpi_of,
    redact_pictures,
)
from exchange.redaction.matcher import Matcher
from exchange.redaction.pdf import MIN_IMAGE_SIDE
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.redaction.report import CheckHit, Removal, Report

MAX_FRAMES = 500
JPEG_QUALITY = 90
# The text layer's flags about pictures that this step has now read (inline images stay).
READ_FLAGS = ("image_only_page", "image_may_contain_text")


def scan_to_pdf(
    source: Path,
    target: Path,
    matcher: Matcher,
    needles: list[Needle],
    book: PseudonymBook,
    report: Report,
    folder: Path,
) -> list[CheckHit]:
    """Burn names out of a JPEG, PNG or (multi-page) TIFF, write it as a PDF of images.

    Return the names OCR still reads after burning (each one blocks the document).
    """
    Image.MAX_IMAGE_PIXELS = 200_000_000
    try:
        with Image.open(source) as opened:
            pictures = []
            for number, frame in enumerate(ImageSequence.Iterator(opened), 1):
                if number > MAX_FRAMES:
                    raise ValidationError(f"a scan of more than {MAX_FRAMES} pages is refused")
                pictures.append((clean_copy(frame), dpi_of(opened)))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValidationError("the picture cannot be read: damaged or not an image") from error
    results = redact_pictures(pictures, matcher, needles, book, folder)
    remaining: list[CheckHit] = []
    for number, result in enumerate(results, 1):
        remaining.extend(_record(report, number, result, 72 / result.dpi))
    _write_image_pdf(target, results)
    return remaining


def _write_image_pdf(target: Path, results: list[PictureResult]) -> None:
    """Write each picture losslessly as one PDF page at its own resolution."""
    pdf = pikepdf.new()
    for result in results:
        image = result.image
        width = image.width * 72 / result.dpi
        height = image.height * 72 / result.dpi
        stream = _flate_image(pdf, image)
        page = pdf.add_blank_page(page_size=(width, height))
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream))
        page.obj.Contents = pdf.make_stream(
            f"q {width:.3f} 0 0 {height:.3f} 0 0 cm /Im0 Do Q".encode()
        )
    pdf.save(target, deterministic_id=True)  # The same scan gives the same bytes.


def _flate_image(pdf: pikepdf.Pdf, image: Image.Image) -> pikepdf.Stream:
    stream = pdf.make_stream(zlib.compress(image.tobytes(), 6))
    _describe(stream, image, pikepdf.Name.FlateDecode)
    return stream


def _describe(stream: pikepdf.Stream, image: Image.Image, filter_: pikepdf.Name) -> None:
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Image
    stream.Width = image.width
    stream.Height = image.height
    stream.BitsPerComponent = 8
    stream.ColorSpace = pikepdf.Name.DeviceGray if image.mode == "L" else pikepdf.Name.DeviceRGB
    stream.Filter = filter_
    for key in ("/DecodeParms", "/Decode", "/Metadata", "/Intent", "/Interpolate"):
        if key in stream:
            del stream[key]


def redact_pdf_images(
    path: Path,
    matcher: Matcher,
    needles: list[Needle],
    book: PseudonymBook,
    report: Report,
    folder: Path,
) -> list[CheckHit]:
    """Read every image of a PDF in place, burning names and stripping metadata.

    Return the names OCR still reads in an image after burning (each one blocks the document).
    """
    remaining: list[CheckHit] = []
    # Each image is read once, even when many pages draw it (a letterhead's logo).
    unique: dict[tuple[int, int], tuple[int, pikepdf.Stream, float]] = {}
    drawn: dict[int, set[tuple[int, int]]] = {}
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            page_width = float(page.mediabox[2]) - float(page.mediabox[0])
            for image in _images(page.obj.get("/Resources"), set()):
                unique.setdefault(image.objgen, (number, image, page_width))
                drawn.setdefault(number, set()).add(image.objgen)
        pictures: list[tuple[Image.Image, int]] = []
        readable: dict[tuple[int, int], tuple[int, pikepdf.Stream]] = {}
        for key, (number, image, page_width) in unique.items():
            picture = _picture(image)
            if picture is None:
                report.flag(number, "image_unreadable", "an image this tool cannot decode")
                continue
            dpi = round(picture.width / max(page_width / 72, 0.1))
            pictures.append((clean_copy(picture), min(max(dpi, 70), 600) or DEFAULT_DPI))
            readable[key] = (number, image)
        results = redact_pictures(pictures, matcher, needles, book, folder) if pictures else []
        for (number, image), result in zip(readable.values(), results, strict=True):
            remaining.extend(_record(report, number, result, None))
            _replace(image, result)
        done = {number for number, keys in drawn.items() if keys <= readable.keys()}
        report.flags = [
            f
            for f in report.flags
            if not (f.reason in READ_FLAGS and f.page in done and f.detail != "inline image")
        ]
        pdf.save(path, deterministic_id=True)
    return remaining


def _images(resources: object, seen: set[tuple[int, int]], depth: int = 0) -> list[pikepdf.Stream]:
    """Return the image XObjects drawn from some resources, forms included, each once."""
    if depth > 16 or not isinstance(resources, pikepdf.Dictionary):
        return []
    xobjects = resources.get("/XObject")
    if not isinstance(xobjects, pikepdf.Dictionary):
        return []
    images = []
    for xobject in xobjects.values():
        if not isinstance(xobject, pikepdf.Stream) or xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        subtype = xobject.get("/Subtype")
        if subtype == pikepdf.Name.Image and not xobject.get("/ImageMask", False):
            width, height = int(xobject.get("/Width", 0)), int(xobject.get("/Height", 0))
            if min(width, height) >= MIN_IMAGE_SIDE:
                images.append(xobject)
        elif subtype == pikepdf.Name.Form:
            images.extend(_images(xobject.get("/Resources"), seen, depth + 1))
    return images


def _picture(image: pikepdf.Stream) -> Image.Image | None:
    try:
        return pikepdf.PdfImage(image).as_pil_image()
    except Exception:  # pikepdf raises many kinds of error for images it cannot decode.
        return None


def _replace(stream: pikepdf.Stream, result: PictureResult) -> None:
    """Write the picture's clean pixels back: always for JPEGs (they carry EXIF), else if burned."""
    was_jpeg = stream.get("/Filter") == pikepdf.Name.DCTDecode
    if not (result.changed or was_jpeg or "/Metadata" in stream):
        return
    if was_jpeg:
        buffer = io.BytesIO()
        result.image.save(buffer, "JPEG", quality=JPEG_QUALITY)
        stream.write(buffer.getvalue(), filter=pikepdf.Name.DCTDecode)
        _describe(stream, result.image, pikepdf.Name.DCTDecode)
    else:
        stream.write(zlib.compress(result.image.tobytes(), 6), filter=pikepdf.Name.FlateDecode)
        _describe(stream, result.image, pikepdf.Name.FlateDecode)


def _record(
    report: Report, page: int, result: PictureResult, scale: float | None
) -> list[CheckHit]:
    """Copy what a picture's redaction found into the report; return the names still seen."""

    def box(pixels: tuple[int, int, int, int] | None) -> tuple[float, ...] | None:
        if pixels is None or scale is None:
            return None
        return tuple(round(v * scale, 1) for v in pixels)

    for burned in result.burned:
        report.removed.append(
            Removal(page, "image", burned.person_ids, burned.label, "image", box(burned.box))  # type: ignore[arg-type]
        )
    for concern in result.concerns:
        report.flag(
            page,
            concern.reason,
            concern.detail,
            person_ids=concern.person_ids,
            box=box(concern.box),
        )
    return [
        CheckHit("ocr_after_burning", hit.person_id, page, box(hit.box))  # type: ignore[arg-type]
        for hit in result.remaining
    ]
