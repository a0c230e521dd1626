"""Lay plain text straight onto a ReportLab canvas, tagged as it is drawn, page after page.

No Platypus: text is never parsed as markup (it is shown exactly as given), lines are broken
greedily with ReportLab's C-accelerated string widths, and each line is written as PDF text
operators in the embedded TrueType subsets. Paragraphs, headings, list items and label/value
tables are structure elements (see pdf_structure) whose marked content is split where a page
ends; table rules are artifacts. Only the current page's content is held while drawing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.pdfgen.canvas import Canvas

from exchange.packaging.pdf_structure import StructureRecorder

_LINE_ENDS = re.compile(r"\r\n?")
_RULE = "/Artifact <</Type /Layout>> BDC 0.827 0.827 0.827 RG 0.25 w {x0} {y} m {x1} {y} l S EMC"
_CELL_PADDING = 6.0  # left and right, as ReportLab's Table
_ROW_PADDING = 3.0  # above and below


@dataclass(frozen=True, slots=True)
class Style:
    """A font, its size and leading, and the fill colour of the text (PDF operator)."""

    font: str
    size: float
    leading: float
    fill: str = "0 g"


_WIDTHS: dict[tuple[str, float], dict[str, float]] = {}  # word widths by font and size
_WIDTHS_KEPT = 20_000  # words remembered per font and size, then forgotten (memory stays flat)


def _number(value: float) -> str:
    """Format a coordinate the same way every time."""
    return f"{value:.2f}"


def _widths(style: Style) -> tuple[dict[str, float], Any]:
    """Return the remembered word widths of a style and a function measuring new ones."""
    widths = _WIDTHS.setdefault((style.font, style.size), {})
    if len(widths) > _WIDTHS_KEPT:
        widths.clear()
    return widths, getFont(style.font).stringWidth


def break_lines(text: str, style: Style, width: float) -> list[str]:
    """Break text into lines no wider than width: at spaces, at line ends, inside long words."""
    size = style.size
    widths, measure = _widths(style)
    space = measure(" ", size)
    lines: list[str] = []
    for source in _LINE_ENDS.sub("\n", text).split("\n"):
        words = source.split()
        if not words:
            lines.append("")
            continue
        current: list[str] = []
        used = -space
        for word in words:
            wide = widths.get(word)
            if wide is None:
                wide = widths[word] = measure(word, size)
            if used + space + wide <= width:
                current.append(word)
                used += space + wide
                continue
            if current:
                lines.append(" ".join(current))
            if wide > width:
                *whole, word = _split_word(word, style, width)
                lines += whole
                wide = measure(word, size)
            current, used = [word], wide
        lines.append(" ".join(current))
    return lines


def _split_word(word: str, style: Style, width: float) -> list[str]:
    """Cut a word too long for a line into pieces that fit (at least one character each)."""
    pieces: list[str] = []
    start, used = 0, 0.0
    for index, character in enumerate(word):
        wide = stringWidth(character, style.font, style.size)
        if used + wide > width and index > start:
            pieces.append(word[start:index])
            start, used = index, 0.0
        used += wide
    pieces.append(word[start:])
    return pieces


class Flow:
    """Where the next block goes on the current page, and how to draw it there tagged."""

    def __init__(
        self,
        canvas: Canvas,
        recorder: StructureRecorder,
        frame: tuple[float, float, float, float],
    ) -> None:
        self.canvas, self.recorder = canvas, recorder
        self.left, self.bottom, self.width, self.top = frame
        self.y = self.top
        self._code = canvas._code
        self._subsets: dict[tuple[str, int], str] = {}  # (font, subset) -> the font's PDF name

    @property
    def room(self) -> float:
        """Return the height left on this page."""
        return self.y - self.bottom

    def new_page(self) -> None:
        """End this page and start the next."""
        self.canvas.showPage()
        self._code = self.canvas._code
        self.y = self.top

    def space(self, height: float) -> None:
        """Leave a gap (none at the top of a page; a new page if the gap does not fit)."""
        if self.y >= self.top:
            return
        if height > self.room:
            self.new_page()
        else:
            self.y -= height

    def keep(self, height: float) -> None:
        """Start a new page unless a block of this height fits here (or fits nowhere)."""
        if height > self.room and self.y < self.top and height <= self.top - self.bottom:
            self.new_page()

    def paragraph(
        self, lines: Sequence[str], style: Style, role: str = "P", indent: float = 0.0
    ) -> None:
        """Draw broken lines as one element, continued on the next page where they run over."""
        self.recorder.open(role)
        self._lines(lines, style, self.left + indent)
        self.recorder.close()

    def bullet_item(self, lines: Sequence[str], style: Style, bullet: str, indent: float) -> None:
        """Draw a list item: LI > Lbl (the bullet) and LBody (the text, indented)."""
        self.recorder.open("LI")
        if style.leading > self.room:
            self.new_page()
        self.recorder.open("Lbl")
        self._marked([bullet], style, self.left, self.y - style.size)
        self.recorder.close()
        self.paragraph(lines, style, "LBody", indent)
        self.recorder.close()

    def table(
        self,
        rows: Sequence[tuple[Sequence[str], Sequence[str]]],
        label_width: float,
        label: Style,
        value: Style,
    ) -> None:
        """Draw label/value rows (already broken for their cells): Table > TR > TH, TD."""
        recorder = self.recorder
        recorder.open("Table")
        value_x = self.left + label_width + _CELL_PADDING
        for label_lines, value_lines in rows:
            height = row_height(label_lines, value_lines, label, value)
            self.keep(height)
            recorder.open("TR")
            top = self.y - _ROW_PADDING
            recorder.open("TH")
            self._marked(label_lines, label, self.left + _CELL_PADDING, top - label.size)
            recorder.close()
            recorder.open("TD")
            if height <= self.room:
                self._marked(value_lines, value, value_x, top - value.size)
                self.y -= height
            else:  # a value longer than a page: it runs on, as a paragraph does
                self.y = top
                self._lines(value_lines, value, value_x)
                self.y -= _ROW_PADDING
            recorder.close()
            recorder.close()
            self._code.append(
                _RULE.format(
                    x0=_number(self.left), x1=_number(self.left + self.width), y=_number(self.y)
                )
            )
        recorder.close()

    def _lines(self, lines: Sequence[str], style: Style, x: float) -> None:
        """Draw lines in the current element, as many per page as fit."""
        leading, start = style.leading, 0
        while start < len(lines):
            fit = int(self.room // leading)
            if fit <= 0 and self.y < self.top:
                self.new_page()
                continue
            fit = max(fit, 1)
            chunk = lines[start : start + fit]
            self._marked(chunk, style, x, self.y - style.size)
            self.y -= leading * len(chunk)
            start += fit

    def _marked(self, lines: Sequence[str], style: Style, x: float, y: float) -> None:
        """Draw lines inside marked content that belongs to the current structure element."""
        self.recorder.begin(self.canvas)
        self._text(lines, style, x, y)
        self.recorder.end(self.canvas)

    def _text(self, lines: Sequence[str], style: Style, x: float, y: float) -> None:
        """Write lines as one text object: each line a Tj in the font's subsets, then T*."""
        canvas = self.canvas
        document, escape = canvas._doc, canvas._escape
        font = getFont(style.font)
        size = _number(style.size)
        code = [f"BT {style.fill} {_number(style.leading)} TL {_number(x)} {_number(y)} Td"]
        subset_now = None
        for number, line in enumerate(lines):
            if number:
                code.append("T*")
            if line.isascii() and line.isprintable():  # ASCII is subset 0, code for code
                pieces = [(0, line.encode("ascii"))] if line else []
            else:
                pieces = font.splitString(line, document)
            for subset, data in pieces:
                if subset != subset_now:
                    name = self._subsets.get((style.font, subset))
                    if name is None:
                        name = font.getSubsetInternalName(subset, document)
                        self._subsets[style.font, subset] = name
                    code.append(f"{name} {size} Tf")
                    subset_now = subset
                code.append(f"({escape(data)}) Tj")
        code.append("ET")
        self._code.append(" ".join(code))


def row_height(
    label_lines: Sequence[str], value_lines: Sequence[str], label: Style, value: Style
) -> float:
    """Return the height of a table row: its taller cell and the padding."""
    return (
        max(len(label_lines) * label.leading, len(value_lines) * value.leading) + 2 * _ROW_PADDING
    )
