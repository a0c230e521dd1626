"""Burn other children's names out of scanned pages and pictures, then read them again.

Each picture is read by OCR; the words of a name are painted over in the pixels themselves and
the picture is re-encoded from those pixels alone (no EXIF, XMP or other metadata survives),
so nothing of the name remains under a box. The surroundings of each burned box are read by
OCR again; the rest of the picture is unchanged and was already read. What OCR cannot read with
confidence (handwriting, a poor scan, a picture without text) is flagged with its page and box.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps, ImageStat

from exchange.redaction import ocr
from exchange.redaction.checker import Needle
from exchange.redaction.matcher import Matcher
from exchange.redaction.ocr import Word
from exchange.redaction.ocr_match import OcrHit, find_names, line_text
from exchange.redaction.pseudonyms import PseudonymBook

DEFAULT_DPI = 200
MAX_SIDE = 3600  # Pixels: larger photos are scaled down (A4 at 300 dpi fits).
LOW_CONFIDENCE = 60.0
BLANK_DEVIATION = 8.0  # A picture this uniform (standard deviation of grey) holds no text.
PAD = 0.25  # Of a word's height, added around the box that is burned.
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Burned:
    """A name painted out of a picture: whose, the pseudonym and the box in pixels."""

    person_ids: tuple[str, ...]
    label: str
    box: Box


@dataclass(frozen=True)
class Concern:
    """Something in a picture a person must look at: why, and where in pixels."""

    reason: str
    detail: str
    box: Box | None = None
    person_ids: tuple[str, ...] = ()


@dataclass
class PictureResult:
    """The cleaned picture and what was burned, flagged and still seen in it."""

    image: Image.Image
    dpi: int
    changed: bool = False
    words: int = 0
    burned: list[Burned] = field(default_factory=list)
    kept: list[Box] = field(default_factory=list)
    concerns: list[Concern] = field(default_factory=list)
    remaining: list[OcrHit] = field(default_factory=list)


def clean_copy(image: Image.Image) -> Image.Image:
    """Return the picture upright, in grey or RGB, as bare pixels with no metadata at all."""
    upright = ImageOps.exif_transpose(image) or image
    mode = "L" if upright.mode in ("1", "L", "LA", "I", "I;16", "F") else "RGB"
    if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
        # Flatten transparency onto white so hidden pixels cannot come back.
        background = Image.new("RGBA", upright.size, "white")
        background.alpha_composite(upright.convert("RGBA"))
        upright = background
    converted = upright.convert(mode)
    if max(converted.size) > MAX_SIDE:
        converted.thumbnail((MAX_SIDE, MAX_SIDE))
    return Image.frombytes(converted.mode, converted.size, converted.tobytes())


def dpi_of(image: Image.Image) -> int:
    """Return a picture's resolution, or the usual scanner default when it does not say."""
    value = image.info.get("dpi", (DEFAULT_DPI, DEFAULT_DPI))[0]
    try:
        dpi = round(float(value))
    except (TypeError, ValueError):
        return DEFAULT_DPI
    return dpi if 70 <= dpi <= 1200 else DEFAULT_DPI


def redact_pictures(
    pictures: list[tuple[Image.Image, int]],
    matcher: Matcher,
    needles: list[Needle],
    book: PseudonymBook,
    folder: Path,
) -> list[PictureResult]:
    """Read, burn and re-read a batch of (clean picture, dpi); return one result each."""
    results = [PictureResult(image, dpi) for image, dpi in pictures]
    pages = _read([(r.image, r.dpi) for r in results], folder, "read")
    for result, words in zip(results, pages, strict=True):
        result.words = len(words)
        _burn(result, words, matcher, needles, book)
        _judge_confidence(result, words)
    _verify(results, needles, folder)
    return results


def _read(
    pictures: list[tuple[Image.Image, int]], folder: Path, stem: str, *, block: bool = False
) -> list[list[Word]]:
    """OCR pictures grouped by resolution, returning the words of each in order."""
    pages: list[list[Word]] = [[] for _ in pictures]
    by_dpi: dict[int, list[int]] = {}
    for index, (_image, dpi) in enumerate(pictures):
        by_dpi.setdefault(dpi, []).append(index)
    for dpi, indexes in by_dpi.items():
        paths = []
        for index in indexes:
            image = pictures[index][0]
            path = folder / f"{stem}-{index}.{'pgm' if image.mode == 'L' else 'ppm'}"
            image.save(path)
            paths.append(path)
        try:
            read = ocr.read_images(paths, dpi=dpi, block=block)
            for index, words in zip(indexes, read, strict=True):
                pages[index] = words
        finally:
            for path in paths:
                path.unlink(missing_ok=True)
    return pages


def _burn(
    result: PictureResult,
    words: list[Word],
    matcher: Matcher,
    needles: list[Needle],
    book: PseudonymBook,
) -> None:
    """Paint out every name the matcher or the tolerant search finds; flag the uncertain."""
    kept: set[Word] = set()
    targets: list[tuple[tuple[str, ...], tuple[Word, ...]]] = []
    for line in _lines(words):
        text, owners = line_text(line)
        for match in matcher.find(text):
            covered = tuple(dict.fromkeys(owners[i] for i in range(match.start, match.end)))
            ids = match.group.target_ids
            if match.decision == "kept":
                kept.update(covered)
            elif match.decision == "needs_review":
                result.concerns.append(
                    Concern("possible_name", ", ".join(match.reasons), _union(covered), ids)
                )
            else:
                targets.append((ids, covered))
    for hit in find_names(words, needles, 1):
        if not kept.intersection(hit.words):
            targets.append(((hit.person_id,), hit.words))
    # Adults' names stay; re-reading around a burned box must not take them for a child's.
    result.kept.extend(word.box for word in kept)
    done: set[Box] = set()
    draw = ImageDraw.Draw(result.image)
    for ids, covered in targets:
        boxes = [_padded(word.box, result.image.size) for word in covered]
        if all(box in done for box in boxes):
            continue
        for box in boxes:
            done.add(box)
            draw.rectangle(box, fill=0)
            result.burned.append(Burned(ids, book.label(ids), box))
        result.changed = True


def _judge_confidence(result: PictureResult, words: list[Word]) -> None:
    """Flag words OCR was unsure of, and pictures with content but no readable text."""
    burned = [b.box for b in result.burned]
    unsure = [
        w
        for w in words
        if w.confidence < LOW_CONFIDENCE
        and sum(c.isalpha() for c in w.text) >= 2
        and not any(_overlaps(w.box, box) for box in burned)
    ]
    for line in _lines(unsure):
        result.concerns.append(
            Concern(
                "low_confidence_text",
                f"{len(line)} word(s) OCR could not read with confidence: check by eye",
                _union(line),
            )
        )
    sure = [w for w in words if w.confidence >= LOW_CONFIDENCE]
    if not sure and ImageStat.Stat(result.image.convert("L")).stddev[0] > BLANK_DEVIATION:
        result.concerns.append(
            Concern("no_readable_text", "a picture or handwriting OCR cannot read: check by eye")
        )


def _verify(results: list[PictureResult], needles: list[Needle], folder: Path) -> None:
    """Read again the surroundings of each burned box, and keep any name still seen there.

    The surroundings of one picture are stacked on one sheet, so tesseract reads one image per
    picture rather than one per name.
    """
    sheets: list[tuple[PictureResult, Image.Image, list[tuple[int, Box]]]] = []
    for result in results:
        boxes = _surroundings(result)
        if boxes:
            sheet, placed = _sheet(result.image, boxes)
            sheets.append((result, sheet, placed))
    if not sheets:
        return
    pages = _read(
        [(sheet, result.dpi) for result, sheet, _ in sheets], folder, "verify", block=True
    )
    for (result, _sheet_image, placed), words in zip(sheets, pages, strict=True):
        back = [_back(word, placed) for word in words]
        seen = find_names([w for w in back if w is not None], needles, 1)
        result.remaining.extend(hit for hit in seen if not _an_adults(hit, result.kept))


def _sheet(image: Image.Image, boxes: list[Box]) -> tuple[Image.Image, list[tuple[int, Box]]]:
    """Stack crops of a picture on a white sheet, gaps between; return each crop's top."""
    gap = max(12, max(b[3] - b[1] for b in boxes))
    width = max(b[2] - b[0] for b in boxes) + 2 * gap
    height = sum(b[3] - b[1] + gap for b in boxes) + gap
    sheet = Image.new(image.mode, (width, height), 255 if image.mode == "L" else (255,) * 3)
    placed: list[tuple[int, Box]] = []
    top = gap
    for box in boxes:
        sheet.paste(image.crop(box), (gap, top))
        placed.append((top, box))
        top += box[3] - box[1] + gap
    return sheet, placed


def _back(word: Word, placed: list[tuple[int, Box]]) -> Word | None:
    """Map a word read on a sheet back to the picture, by the crop its middle falls in."""
    middle = word.top + word.height // 2
    for top, box in placed:
        if top <= middle < top + box[3] - box[1]:
            gap = placed[0][0]  # The first crop sits one gap from the top and the left.
            return Word(
                word.page,
                word.line,
                word.left - gap + box[0],
                word.top - top + box[1],
                word.width,
                word.height,
                word.confidence,
                word.text,
            )
    return None


def _surroundings(result: PictureResult) -> list[Box]:
    """Return boxes around each burned box: its line, a few letters' width either side.

    The rest of the picture did not change and was read in full before burning.
    """
    boxes = []
    width, height = result.image.size
    for burned in result.burned:
        left, top, right, bottom = burned.box
        tall = bottom - top
        boxes.append(
            (
                max(0, left - 2 * tall),
                max(0, top - tall // 2),
                min(width, right + 2 * tall),
                min(height, bottom + tall // 2),
            )
        )
    merged: list[Box] = []
    for box in sorted(boxes, key=lambda b: (b[1], b[0])):
        last = merged[-1] if merged else None
        if last and abs(box[1] - last[1]) < (box[3] - box[1]) // 2 and box[0] <= last[2]:
            merged[-1] = (last[0], min(last[1], box[1]), max(last[2], box[2]), max(last[3], box[3]))
        else:
            merged.append(box)
    return merged


def _lines(words: Iterable[Word]) -> list[list[Word]]:
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    return list(lines.values())


def _an_adults(hit: OcrHit, kept: list[Box]) -> bool:
    """Say whether every word of a re-read hit sits on a word first read as an adult's name.

    A crop cuts a line short, so the title or role that made the name an adult's on the whole
    line may be outside it: the decision taken on the whole line stands.
    """
    return bool(kept) and all(
        any(box[0] <= x < box[2] and box[1] <= y < box[3] for box in kept)
        for x, y in ((w.left + w.width // 2, w.top + w.height // 2) for w in hit.words)
    )


def _union(words: Iterable[Word]) -> Box:
    boxes = [w.box for w in words]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _padded(box: Box, size: tuple[int, int]) -> Box:
    left, top, right, bottom = box
    pad = max(2, round((bottom - top) * PAD))
    side = max(2, pad // 3)  # Less to the sides, so neighbouring words stay readable.
    return (
        max(0, left - side),
        max(0, top - pad),
        min(size[0] - 1, right + side),
        min(size[1] - 1, bottom + pad),
    )


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
