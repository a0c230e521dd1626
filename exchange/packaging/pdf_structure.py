"""Record a PDF's logical structure while ReportLab draws it: headings, paragraphs, tables.

ReportLab writes real text but no tags. Our flowables wrap what they draw in marked content
(`/P <</MCID n>> BDC … EMC`) and note where it sits in a tree of structure elements
(Document > H1…H3, P, L > LI > LBody, Table > TR > TH/TD > P); table rules and page footers
are marked as artifacts. `pdf_tagging.write_structure` then writes the PDF's structure tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph
from reportlab.platypus.tables import Table

_CANNOT_FIT = 0x7FFFFFFF  # The height Paragraph.wrap answers when no line fits the width.
_SHARED_TEXT_LENGTH = 80  # Longer texts (narratives) are seldom repeated, and may be split.


@dataclass(frozen=True, slots=True)  # Slots: a long chronology records 10^5 of these.
class Mark:
    """One marked-content sequence: its page (1-based) and its MCID on that page."""

    page: int
    mcid: int


@dataclass(slots=True)
class Element:
    """A structure element and its children, in reading order."""

    role: str
    children: list[Element | Mark] = field(default_factory=list)


class StructureRecorder:
    """The tree being built as pages are drawn, and the next free MCID of each page."""

    def __init__(self) -> None:
        self.root = Element("Document")
        self._open: list[Element] = [self.root]
        self._next_mcid: dict[int, int] = {}

    def open(self, role: str) -> None:
        """Start a child element of the current one; later content goes inside it."""
        element = Element(role)
        self._open[-1].children.append(element)
        self._open.append(element)

    def close(self) -> None:
        """End the current element."""
        if len(self._open) == 1:
            raise RuntimeError("the Document element cannot be closed")
        self._open.pop()

    def finish(self) -> Element:
        """Return the tree, checking every element opened was closed."""
        if len(self._open) != 1:
            roles = [element.role for element in self._open[1:]]
            raise RuntimeError(f"structure elements left open: {roles}")
        return self.root

    def begin(self, canvas: Canvas, role: str | None = None) -> None:
        """Open marked content; with a role it is a new element, else part of the current."""
        page = canvas.getPageNumber()
        mcid = self._next_mcid.get(page, 0)
        self._next_mcid[page] = mcid + 1
        mark = Mark(page, mcid)
        if role is None:
            self._open[-1].children.append(mark)
            role = self._open[-1].role
        else:
            self._open[-1].children.append(Element(role, [mark]))
        canvas.addLiteral(f"/{role} <</MCID {mcid}>> BDC")

    def end(self, canvas: Canvas) -> None:
        """Close the marked content opened by begin."""
        canvas.addLiteral("EMC")

    @staticmethod
    def begin_artifact(canvas: Canvas, kind: str = "Layout") -> None:
        """Mark what follows as decoration that assistive technology skips."""
        canvas.addLiteral(f"/Artifact <</Type /{kind}>> BDC")

    @staticmethod
    def end_artifact(canvas: Canvas) -> None:
        """Close an artifact."""
        canvas.addLiteral("EMC")


def recorder_of(canvas: Canvas) -> StructureRecorder | None:
    """Return the recorder the canvas carries, if the document is being tagged."""
    return getattr(canvas, "structure", None)


@dataclass
class _Layout:
    """A short text's parsed fragments and its line breaks by width, shared by its copies."""

    frags: list[Any]
    wrapped: dict[float, tuple[Any, list[float], float]] = field(default_factory=dict)


def _repeatable(text: Any) -> bool:
    """Say whether a text is short enough to be worth sharing (labels, states, names)."""
    return isinstance(text, str) and len(text) <= _SHARED_TEXT_LENGTH and "<bullet" not in text


@lru_cache(maxsize=1024)
def _shared_layout(text: str, style: Any, bullet_text: str | None) -> _Layout:
    """Parse a short text once: a chronology repeats its labels on every incident."""
    return _Layout(Paragraph(text, style, bulletText=bullet_text).frags)


class TaggedParagraph(Paragraph):
    """A paragraph drawn as one structure element (P, H1, …), kept whole when split.

    `within` names container elements opened around it, e.g. ("LI",) for a list item's body.
    """

    def __init__(
        self,
        text: Any,
        style: Any,
        *args: Any,
        role: str = "P",
        within: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        shared = None
        if not args and kwargs.keys() <= {"bulletText"} and _repeatable(text):
            shared = _shared_layout(text, style, kwargs.get("bulletText"))
            kwargs["frags"] = shared.frags
        super().__init__(text, style, *args, **kwargs)
        self.role, self.within = role, within
        self._wrapped = {} if shared is None else shared.wrapped

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        """Break the lines once per width: tables and KeepTogether ask again and again.

        ReportLab's line breaking depends only on the width (and the paragraph's fixed text
        and style), and it is most of the time spent laying out a chronology.
        """
        known = self._wrapped.get(availWidth)
        if known is None:
            size = super().wrap(availWidth, availHeight)
            if size != (0, _CANNOT_FIT):
                self._wrapped[availWidth] = (self.blPara, self._wrapWidths, self.height)
            return size
        self.width = availWidth
        self.blPara, self._wrapWidths, self.height = known
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Any]:  # noqa: N803
        """Split as ReportLab does; both parts keep the role."""
        parts = super().split(availWidth, availHeight)
        for part in parts:
            part.role, part.within = self.role, self.within
            part._wrapped = {}
        return parts

    def draw(self) -> None:
        """Draw the text inside marked content."""
        recorder = recorder_of(self.canv)
        if recorder is None:
            super().draw()
            return
        for container in self.within:
            recorder.open(container)
        recorder.begin(self.canv, self.role)
        super().draw()
        recorder.end(self.canv)
        for _ in self.within:
            recorder.close()


class StructureStart(Flowable):
    """An invisible flowable that opens a container element (L, Sect, …) where it lands."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role
        self.width = self.height = 0

    def draw(self) -> None:
        """Open the element."""
        recorder = recorder_of(self.canv)
        if recorder is not None:
            recorder.open(self.role)


class StructureEnd(Flowable):
    """An invisible flowable that closes the element a StructureStart opened."""

    width = height = 0

    def draw(self) -> None:
        """Close the element."""
        recorder = recorder_of(self.canv)
        if recorder is not None:
            recorder.close()


class TableTagger:
    """A Table render callback: Table > TR > TH/TD, with rules and backgrounds as artifacts."""

    def __init__(self, *, header_rows: int = 0, header_columns: int = 0) -> None:
        self.header_rows, self.header_columns = header_rows, header_columns
        self._text_cell = False

    def __call__(self, table: Table, event: str, *args: Any) -> None:
        """Follow ReportLab's drawing events for one table."""
        recorder = recorder_of(table.canv)
        if recorder is None:
            return
        canvas = table.canv
        if event in ("startBG", "startLines"):
            recorder.begin_artifact(canvas)
        elif event in ("endBG", "endLines"):
            recorder.end_artifact(canvas)
        elif event == "startTable":
            recorder.open("Table")
        elif event == "startRow":
            recorder.open("TR")
        elif event == "startCell":
            row, column, value = args[0], args[1], args[2]
            header = row < self.header_rows or column < self.header_columns
            recorder.open("TH" if header else "TD")
            self._text_cell = isinstance(value, str) and bool(value.strip())
            if self._text_cell:
                recorder.begin(canvas)
        elif event == "endCell":
            if self._text_cell:
                recorder.end(canvas)
            recorder.close()
        elif event in ("endRow", "endTable"):
            recorder.close()
