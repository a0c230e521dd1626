"""Shared PDF pieces: embedded fonts, styles, escaping, numbered pages and bookmarks."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle, StyleSheet1
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from exchange.packaging.pdf_structure import StructureRecorder, TaggedParagraph
from exchange.packaging.pdf_tagging import write_structure

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_VERA = Path(reportlab.__file__).parent / "fonts"
LANGUAGE = "en-GB"


@cache
def fonts() -> tuple[str, str, str]:
    """Register embeddable TrueType fonts; return the regular, bold and mono names."""
    choices = (
        ("SgxSans", "DejaVuSans.ttf", "Vera.ttf"),
        ("SgxSansBold", "DejaVuSans-Bold.ttf", "VeraBd.ttf"),
        ("SgxMono", "DejaVuSansMono.ttf", "VeraMono.ttf"),
    )
    for name, dejavu, vera in choices:
        path = _DEJAVU / dejavu if (_DEJAVU / dejavu).exists() else _VERA / vera
        if not path.exists():
            path = _VERA / "Vera.ttf"
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily("SgxSans", normal="SgxSans", bold="SgxSansBold")
    return "SgxSans", "SgxSansBold", "SgxMono"


@cache
def styles() -> StyleSheet1:
    """Return the paragraph styles used by every generated PDF."""
    regular, bold, mono = fonts()
    sheet = StyleSheet1()
    base = ParagraphStyle("body", fontName=regular, fontSize=10, leading=14, alignment=TA_LEFT)
    sheet.add(base)
    sheet.add(ParagraphStyle("title", parent=base, fontName=bold, fontSize=20, leading=26))
    sheet.add(ParagraphStyle("h1", parent=base, fontName=bold, fontSize=15, leading=20))
    sheet.add(ParagraphStyle("h2", parent=base, fontName=bold, fontSize=12, leading=16))
    sheet.add(ParagraphStyle("small", parent=base, fontSize=8, leading=10))
    sheet.add(ParagraphStyle("mono", parent=base, fontName=mono, fontSize=7.5, leading=9.5))
    sheet.add(ParagraphStyle("meta", parent=base, fontSize=9, leading=12, textColor="#333333"))
    return sheet


def text(value: str) -> str:
    """Escape untrusted text for a Paragraph, keeping line breaks."""
    return escape(value).replace("\r\n", "\n").replace("\n", "<br/>")


def when(value: datetime | date | None) -> str:
    """Format a date or time the way a UK reader expects."""
    if value is None:
        return "not recorded"
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y, %H:%M %Z").strip().rstrip(",")
    return value.strftime("%d %b %Y")


def label_value_cells(rows: list[tuple[str, str]]) -> list[list[TaggedParagraph]]:
    """Return table cells for label/value rows: the label bold (a row header), both escaped."""
    body = styles()["body"]
    return [
        [TaggedParagraph(f"<b>{text(label)}</b>", body), TaggedParagraph(text(value), body)]
        for label, value in rows
    ]


HEADING_ROLES = {"title": "H1", "h1": "H2", "h2": "H3"}


class Heading(TaggedParagraph):
    """A heading (H1 to H3 by style) that adds a bookmark and an outline entry where it lands."""

    def __init__(self, title: str, style: ParagraphStyle, level: int, key: str) -> None:
        super().__init__(text(title), style, role=HEADING_ROLES.get(style.name, "H2"))
        self.outline_title = title
        self.outline_level = level
        self.outline_key = key


class _NumberedCanvas(Canvas):
    """A canvas that writes "Page N of M" once the page count is known."""

    footer_left = ""
    structure: StructureRecorder | None = None
    pages_after = 0  # Pages another step appends after these (they count in the total).

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        """Keep the page state until the total is known."""
        state = dict(self.__dict__)
        if state["_code"]:  # One string per page, not one per operator: far less memory.
            state["_code"] = ["\n".join(state["_code"])]
        self._saved_pages.append(state)
        self._startPage()

    def save(self) -> None:
        """Draw every footer, then write the file."""
        total = len(self._saved_pages) + self.pages_after
        for state in self._saved_pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        regular = fonts()[0]
        StructureRecorder.begin_artifact(self, "Pagination")
        self.setFont(regular, 8)
        width = self._pagesize[0]
        self.drawString(18 * mm, 10 * mm, self.footer_left)
        self.drawRightString(width - 18 * mm, 10 * mm, f"Page {self._pageNumber} of {total}")
        StructureRecorder.end_artifact(self)


class _FedStory(list[Flowable]):
    """A story that takes flowables from an iterable as ReportLab consumes them.

    ReportLab's build loop asks `len(story)` before each flowable and deletes each from the
    front; refilling a short list there keeps only a few flowables alive at once (memory
    stays flat for a long chronology) and each deletion from the front cheap.
    """

    AHEAD = 64

    def __init__(self, flowables: Iterable[Flowable]) -> None:
        super().__init__()
        self._source = iter(flowables)

    def __len__(self) -> int:
        if super().__len__() < self.AHEAD:
            self.extend(islice(self._source, self.AHEAD))
        return super().__len__()


class DocTemplate(BaseDocTemplate):
    """A one-frame A4 template that builds the outline from Heading flowables."""

    def __init__(self, *, title: str, footer: str, **kwargs: Any) -> None:
        self._buffer = io.BytesIO()
        super().__init__(
            self._buffer,
            title=title,
            creator="safeguarding-exchange",
            invariant=1,
            lang=LANGUAGE,
            displayDocTitle=1,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=18 * mm,
            bottomMargin=20 * mm,
            **kwargs,
        )
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([PageTemplate(id="page", frames=[frame])])
        self._footer = footer

    def afterFlowable(self, flowable: Flowable) -> None:  # noqa: N802 - reportlab's name
        """Bookmark headings and add them to the outline."""
        if isinstance(flowable, Heading):
            self.canv.bookmarkPage(flowable.outline_key)
            self.canv.addOutlineEntry(
                flowable.outline_title, flowable.outline_key, level=flowable.outline_level
            )

    def render(self, story: Iterable[Flowable], pages_after: int = 0) -> bytes:
        """Build the document with numbered pages; return it as a tagged PDF.

        pages_after counts pages the caller will append, so every footer shows the full total.
        """
        footer, recorder, appended = self._footer, StructureRecorder(), pages_after

        class Numbered(_NumberedCanvas):
            footer_left = footer
            structure = recorder
            pages_after = appended

        self.build(_FedStory(story), canvasmaker=Numbered)
        return write_structure(self._buffer.getvalue(), recorder)
