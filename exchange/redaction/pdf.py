"""Redact other children's names from a PDF: content streams, then every other hiding place."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from exchange.errors import ValidationError
from exchange.redaction import objects
from exchange.redaction.content import ContentReader, GlyphRef, StreamText, glyphs_of, rewrite
from exchange.redaction.fonts import Font
from exchange.redaction.matcher import Matcher
from exchange.redaction.names import MatchSet
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.redaction.report import Removal, Report
from exchange.redaction.strings import StringRedactor

# A PDF ends with %%EOF within this many bytes of its end (some producers add a little after).
TAIL_BYTES = 4096
# Images smaller than this (in pixels, each side) cannot hold a readable name.
MIN_IMAGE_SIDE = 16
_MARKED_KEYS = ("/ActualText", "/Alt", "/E")
_RESOURCE_CATEGORIES = (
    "/Font", "/XObject", "/ExtGState", "/ColorSpace", "/Pattern", "/Shading", "/Properties",
)  # fmt: skip


@dataclass
class PageTally:
    """Count what a page shows, to tell image-only pages."""

    glyphs: int = 0
    images: int = 0
    seen_images: set[tuple[int, int]] = field(default_factory=set)


class PdfRedactor:
    """Remove names from an open PDF and record what was done in a report."""

    def __init__(
        self,
        pdf: pikepdf.Pdf,
        matcher: Matcher,
        book: PseudonymBook,
        report: Report,
        *,
        redact_review: bool = False,
    ) -> None:
        self.pdf = pdf
        self.matcher = matcher
        self.book = book
        self.report = report
        self.redact_review = redact_review
        self.strings = StringRedactor(matcher, book, report, redact_review)
        self._fonts: dict[tuple[int, int], Font] = {}
        self._done: set[tuple[int, int]] = set()
        self._renames: dict[tuple[int, int], dict[str, str]] = {}
        self._labels: dict[tuple[str, ...], str] = {}

    def run(self) -> None:
        """Redact every page, then every other place a name can hide."""
        if "/Encrypt" in self.pdf.trailer or self.pdf.is_encrypted:
            raise ValidationError("the PDF is encrypted: remove the password first")
        acroform = self.pdf.Root.get("/AcroForm")
        default_resources = (
            acroform.get("/DR") if isinstance(acroform, pikepdf.Dictionary) else None
        )
        for number, page in enumerate(self.pdf.pages, 1):
            tally = PageTally()
            self._page(number, page, tally)
            self._annotations(number, page, default_resources, tally)
            if tally.images and not tally.glyphs:
                self.report.flag(number, "image_only_page", "a scan or picture: check it by eye")
        self._clean_objects()

    def _page(self, number: int, page: pikepdf.Page, tally: PageTally) -> None:
        resources = _inherited(page.obj, "/Resources")
        new = self._content(page.obj, resources, number, "page", tally)
        if new is not None:
            page.obj.Contents = self.pdf.make_stream(pikepdf.unparse_content_stream(new))
        self._resources(resources, number, tally)

    def _annotations(
        self, number: int, page: pikepdf.Page, fallback: object, tally: PageTally
    ) -> None:
        annots = page.obj.get("/Annots")
        if not isinstance(annots, pikepdf.Array):
            return
        for annot in annots:
            appearance = annot.get("/AP") if isinstance(annot, pikepdf.Dictionary) else None
            if not isinstance(appearance, pikepdf.Dictionary):
                continue
            for key in ("/N", "/R", "/D"):
                entry = appearance.get(key)
                streams = [entry] if isinstance(entry, pikepdf.Stream) else []
                if isinstance(entry, pikepdf.Dictionary):
                    streams = [s for s in entry.values() if isinstance(s, pikepdf.Stream)]
                for stream in streams:
                    self._form(stream, number, "annotation_appearance", fallback, tally)

    def _content(
        self,
        owner: pikepdf.Object,
        resources: object,
        number: int,
        location: str,
        tally: PageTally,
    ) -> list | None:
        """Return rewritten instructions for one content stream, or None if unchanged."""
        try:
            instructions = pikepdf.parse_content_stream(owner)
        except (pikepdf.PikepdfError, TypeError):  # Damaged, or not a stream at all.
            self.report.flag(number, "content_unreadable", location)
            return None
        renames = self._rename_resources(resources, number)
        if renames:
            instructions = [_renamed(i, renames) for i in instructions]
        reader = ContentReader(self._font, resources)
        try:
            text = reader.read(instructions)
        except UnicodeDecodeError as error:  # A font's name in bytes that are not text.
            raise ValidationError(
                "the PDF names a font in bytes that are not text: it cannot be redacted "
                "safely; print it to a new PDF and try again"
            ) from error
        tally.glyphs += text.glyph_count
        if reader.images:
            tally.images += reader.images
            self.report.flag(number, "image_may_contain_text", "inline image")
        for problem, font_name in sorted(text.used_problems):
            self.report.flag(number, problem, f"font {font_name}")
        if text.unmapped_fonts:
            names = ", ".join(sorted(text.unmapped_fonts))
            self.report.flag(number, "unmapped_glyphs", f"font {names}")
        removals = self._find(text, number, location)
        changed = self._marked_content(instructions, reader.marked, number) or bool(renames)
        if removals:
            return rewrite(instructions, removals)
        return instructions if changed else None

    def _find(self, text: StreamText, number: int, location: str) -> list[list[GlyphRef]]:
        removals: list[list[GlyphRef]] = []
        matcher, labels, removed = self.matcher, self._labels, self.report.removed
        for match in matcher.find(text.text):
            if match.decision == "kept":
                continue
            ids = matcher.target_ids(match.group)
            if match.decision == "needs_review" and not self.redact_review:
                detail = f"{location}: {', '.join(match.reasons)}"
                self.report.flag(number, "possible_name", detail, person_ids=ids)
                continue
            removals.append(glyphs_of(text, match))
            # A pseudonym, once given, never changes: look each set of children up once.
            label = labels.get(ids)
            if label is None:
                label = labels[ids] = self.book.label(ids)
            removed.append(Removal(number, location, ids, label, matcher.forms_of(match.group)[0]))
        return removals

    def _marked_content(self, instructions: list, marked: list[int], number: int) -> bool:
        changed = False
        for index in marked:
            properties = instructions[index].operands[1]
            for key in _MARKED_KEYS:
                value = properties.get(key)
                if not isinstance(value, pikepdf.String):
                    continue
                new = self.strings.redact(str(value), number, "marked_content")
                if new is not None:
                    properties[key] = pikepdf.String(new)
                    changed = True
        return changed

    def _rename_resources(self, resources: object, number: int) -> dict[str, str]:
        """Give resources whose names carry a child's name (/OliverSmith) neutral names."""
        if not isinstance(resources, pikepdf.Dictionary):
            return {}
        key = resources.objgen if resources.is_indirect else (id(resources), -1)
        if key in self._renames:
            return self._renames[key]
        renames: dict[str, str] = {}
        for category in _RESOURCE_CATEGORIES:
            entries = resources.get(category)
            if not isinstance(entries, pikepdf.Dictionary):
                continue
            for name in list(entries.keys()):
                if not self._carries_name(name[1:]):
                    continue
                new = f"/R{len(renames) + 1}x{len(entries)}"
                while new in entries:
                    new += "x"
                entries[new] = entries[name]
                del entries[name]
                renames[name] = new
        if renames:
            self.report.removed.append(Removal(number, "resource_name", (), None, "part"))
        self._renames[key] = renames
        return renames

    def _carries_name(self, name: str) -> bool:
        words = re.sub(r"(?<=[a-z])(?=[A-Z])|[_#.\-]+|(?<=\D)(?=\d)", " ", name)
        return any(m.decision != "kept" for m in self.matcher.find(words))

    def _resources(self, resources: object, number: int, tally: PageTally) -> None:
        if not isinstance(resources, pikepdf.Dictionary):
            return
        xobjects = resources.get("/XObject")
        if isinstance(xobjects, pikepdf.Dictionary):
            for xobject in xobjects.values():
                if not isinstance(xobject, pikepdf.Stream):
                    continue
                subtype = xobject.get("/Subtype")
                if subtype == pikepdf.Name.Image:
                    self._image(xobject, number, tally)
                elif subtype == pikepdf.Name.Form:
                    self._form(xobject, number, "form_xobject", resources, tally)
        patterns = resources.get("/Pattern")
        if isinstance(patterns, pikepdf.Dictionary):
            for pattern in patterns.values():
                if isinstance(pattern, pikepdf.Stream) and pattern.get("/PatternType") == 1:
                    self._form(pattern, number, "pattern", resources, tally)

    def _image(self, image: pikepdf.Stream, number: int, tally: PageTally) -> None:
        width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
        if min(width, height) < MIN_IMAGE_SIDE:
            return
        key = image.objgen
        if key in tally.seen_images:
            return
        tally.seen_images.add(key)
        tally.images += 1
        self.report.flag(number, "image_may_contain_text", f"image {width}x{height}")

    def _form(
        self, stream: pikepdf.Stream, number: int, location: str, parent: object, tally: PageTally
    ) -> None:
        key = stream.objgen
        if key in self._done and key != (0, 0):
            return
        self._done.add(key)
        resources = stream.get("/Resources", parent)
        new = self._content(stream, resources, number, location, tally)
        if new is not None:
            stream.write(pikepdf.unparse_content_stream(new))
        self._resources(resources, number, tally)

    def _font(self, font: object) -> Font | None:
        if not isinstance(font, pikepdf.Dictionary):
            return None
        key = font.objgen if font.is_indirect else (id(font), -1)
        cached = self._fonts.get(key)
        if cached is None:
            try:
                cached = self._fonts[key] = Font(font)
            except (TypeError, ValueError, AttributeError, LookupError) as error:
                raise ValidationError(
                    f"the PDF has a damaged font dictionary ({type(error).__name__}): "
                    "it cannot be redacted safely; print it to a new PDF and try again"
                ) from error
        return cached

    def _clean_objects(self) -> None:
        pdf, report = self.pdf, self.report
        pages = objects.annotation_pages(pdf)
        objects.remove_javascript(pdf, report)
        objects.remove_embedded_files(pdf, report, pages)
        objects.remove_hidden_extras(pdf, report)
        objects.clean_xmp(pdf, self.matcher, report)
        objects.rename_destinations(pdf, self.matcher, report)
        objects.clean_strings(pdf, self.strings, objects.annotation_pages(pdf))


def _renamed(instruction: object, renames: dict[str, str]) -> object:
    """Return an instruction with renamed resource names among its operands."""
    if not isinstance(instruction, pikepdf.ContentStreamInstruction):
        return instruction
    operands = list(instruction.operands)
    if not any(isinstance(o, pikepdf.Name) and str(o) in renames for o in operands):
        return instruction
    operands = [
        pikepdf.Name(renames[str(o)]) if isinstance(o, pikepdf.Name) and str(o) in renames else o
        for o in operands
    ]
    return pikepdf.ContentStreamInstruction(operands, instruction.operator)


def _inherited(page: pikepdf.Dictionary, key: str) -> object:
    node: object = page
    for _ in range(64):
        if not isinstance(node, pikepdf.Dictionary):
            return None
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def check_source(source: str | os.PathLike[str]) -> None:
    """Refuse a truncated PDF before redacting it (pikepdf would only patch it up)."""
    path = Path(source)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read()
    except OSError as error:
        raise ValidationError(f"the PDF cannot be read: {error.strerror}") from error
    if b"%%EOF" not in tail:
        raise ValidationError(
            "the PDF cannot be read: it is truncated (no end-of-file marker), get a whole copy"
        )


def check_structure(source: str | os.PathLike[str]) -> None:
    """Refuse a PDF that qpdf finds damaged (pikepdf would open it by patching it up)."""
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        return
    checked = subprocess.run(
        [qpdf, "--check", os.fspath(source)], capture_output=True, timeout=120, check=False
    )
    if checked.returncode not in (0, 3):  # 3 means warnings only.
        raise ValidationError("the PDF cannot be read: it is damaged (qpdf --check fails)")


def open_pdf(source: str | os.PathLike[str]) -> pikepdf.Pdf:
    """Open a PDF for redaction, turning every failure into a clear ValidationError."""
    check_source(source)
    try:
        pdf = pikepdf.open(source)
    except pikepdf.PasswordError as error:
        raise ValidationError("the PDF is encrypted: remove the password first") from error
    except (pikepdf.PikepdfError, OSError, ValueError) as error:
        raise ValidationError(f"the PDF cannot be read: {error}") from error
    if pdf.is_encrypted:
        pdf.close()
        raise ValidationError("the PDF is encrypted: remove the password first")
    try:
        check_structure(source)
    except ValidationError:
        pdf.close()
        raise
    return pdf


def redact_pdf(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    match_set: MatchSet | Matcher,
    book: PseudonymBook,
    *,
    document: str = "document",
    redact_review: bool = False,
) -> Report:
    """Write a redacted copy of source to destination (a complete new file) and report."""
    matcher = match_set if isinstance(match_set, Matcher) else Matcher(match_set)
    report = Report(document=document, kind="pdf")
    destination = Path(destination)
    with open_pdf(source) as pdf:
        try:
            PdfRedactor(pdf, matcher, book, report, redact_review=redact_review).run()
        except pikepdf.PikepdfError as error:
            raise ValidationError(f"the PDF is malformed: {error}") from error
        handle, temporary = tempfile.mkstemp(
            prefix=".redacting-", suffix=".pdf", dir=destination.parent
        )
        os.close(handle)
        try:
            pdf.save(
                temporary,
                fix_metadata_version=False,
                compress_streams=True,
                qdf=False,
                linearize=False,
                deterministic_id=True,  # The same input gives the same bytes, in any process.
            )
            os.replace(temporary, destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return report
