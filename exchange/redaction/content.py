"""Read the text of one content stream, find names in it and rewrite it without them."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

import pikepdf

from exchange.redaction.fonts import Font
from exchange.redaction.geometry import IDENTITY, Matrix, multiply, separator, to_matrix
from exchange.redaction.matcher import Match

# The gap left where a name was, in thousandths of the font size: the same for every name.
GAP = 1500
_SHOW = frozenset({"Tj", "TJ", "'", '"'})
_MARKED = ("/ActualText", "/Alt", "/E")


@dataclass
class TextState:
    """Hold the parts of the graphics state that position text."""

    ctm: Matrix = IDENTITY
    font: Font | None = None
    font_name: str = ""
    size: float = 0.0
    char_space: float = 0.0
    word_space: float = 0.0
    scale: float = 1.0
    leading: float = 0.0

    def copy(self) -> TextState:
        """Return a copy to push on the q stack."""
        return TextState(**self.__dict__)


# A glyph to remove: (instruction index, element index in a TJ array, byte start, byte end).
GlyphRef = tuple[int, int, int, int]


@dataclass
class StreamText:
    """Hold the text of a stream as chunks, each one string operand or a separator."""

    chunks: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    # Per chunk: (instruction index or -1 for a separator, element index, glyph map). A glyph
    # map of None means one character per byte; otherwise (char start, byte start, byte end).
    sources: list[tuple[int, int, list[tuple[int, int, int]] | None]] = field(default_factory=list)
    length: int = 0
    glyph_count: int = 0
    unmapped_fonts: set[str] = field(default_factory=set)
    used_problems: set[tuple[str, str]] = field(default_factory=set)

    @property
    def text(self) -> str:
        """Return the text as one string."""
        return "".join(self.chunks)

    def add(self, chunk: str, op: int, element: int, glyphs: list | None) -> None:
        """Append a chunk of text and where its characters came from."""
        if not chunk:
            return
        self.chunks.append(chunk)
        self.starts.append(self.length)
        self.sources.append((op, element, glyphs))
        self.length += len(chunk)

    def add_separator(self, sep: str) -> None:
        """Append a separator that belongs to no glyph."""
        self.add(sep, -1, -1, None)

    def glyphs_between(self, start: int, end: int) -> list[GlyphRef]:
        """Return the glyphs whose text overlaps characters start..end."""
        found: list[GlyphRef] = []
        index = max(bisect_right(self.starts, start) - 1, 0)
        while index < len(self.chunks) and self.starts[index] < end:
            op, element, glyphs = self.sources[index]
            base = self.starts[index]
            if op >= 0:
                low, high = max(start - base, 0), min(end - base, len(self.chunks[index]))
                if glyphs is None:
                    found.extend((op, element, k, k + 1) for k in range(low, high))
                else:
                    found.extend(
                        (op, element, b0, b1)
                        for position, (char, b0, b1) in enumerate(glyphs)
                        if char < high and _glyph_end(glyphs, position, self.chunks[index]) > low
                    )
            index += 1
        return found


def _glyph_end(glyphs: list[tuple[int, int, int]], position: int, chunk: str) -> int:
    return glyphs[position + 1][0] if position + 1 < len(glyphs) else len(chunk)


class ContentReader:
    """Interpret a content stream to collect its text with glyph positions."""

    def __init__(self, fonts: Callable[[object], Font | None], resources: pikepdf.Object) -> None:
        self.fonts = fonts
        self.resources = resources
        self.out = StreamText()
        self.marked: list[int] = []
        self.images = 0

    def read(self, instructions: list) -> StreamText:
        """Walk the instructions and return the text they show."""
        state = TextState()
        stack: list[TextState] = []
        tm = tlm = IDENTITY
        previous_end: tuple[float, float] | None = None
        for index, instruction in enumerate(instructions):
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                self.images += 1
                continue
            op = str(instruction.operator)
            operands = instruction.operands
            if op in _SHOW:
                if op in ("'", '"'):
                    if op == '"':
                        state.word_space = float(operands[0])
                        state.char_space = float(operands[1])
                    tlm = (
                        *tlm[:4],
                        tlm[4] - state.leading * tlm[2],
                        tlm[5] - state.leading * tlm[3],
                    )
                    tm = tlm
                tm, previous_end = self._show(index, op, operands, state, tm, previous_end)
            elif op == "Tf" and len(operands) == 2:
                state.font_name = str(operands[0])
                state.font = self._font(operands[0])
                state.size = float(operands[1])
            elif op in ("Td", "TD") and len(operands) == 2:
                tx, ty = float(operands[0]), float(operands[1])
                if op == "TD":
                    state.leading = -ty
                tlm = multiply((1, 0, 0, 1, tx, ty), tlm)
                tm = tlm
            elif op == "Tm":
                tlm = tm = to_matrix(list(operands))
            elif op == "T*":
                tlm = multiply((1, 0, 0, 1, 0, -state.leading), tlm)
                tm = tlm
            elif op == "BT":
                tlm = tm = IDENTITY
            elif op == "Tc" and operands:
                state.char_space = float(operands[0])
            elif op == "Tw" and operands:
                state.word_space = float(operands[0])
            elif op == "Tz" and operands:
                state.scale = float(operands[0]) / 100
            elif op == "TL" and operands:
                state.leading = float(operands[0])
            elif op == "cm":
                state.ctm = multiply(to_matrix(list(operands)), state.ctm)
            elif op == "q":
                stack.append(state.copy())
            elif op == "Q" and stack:
                state = stack.pop()
            elif op in ("BDC", "DP") and len(operands) == 2 and _has_marked_text(operands[1]):
                self.marked.append(index)
        return self.out

    def _font(self, name: object) -> Font | None:
        fonts = self.resources.get("/Font") if self.resources is not None else None
        if fonts is None:
            return None
        return self.fonts(fonts.get(str(name)))

    def _show(
        self,
        index: int,
        op: str,
        operands: list,
        state: TextState,
        tm: Matrix,
        previous_end: tuple[float, float] | None,
    ) -> tuple[Matrix, tuple[float, float] | None]:
        font = state.font
        if font is None or not operands:
            return tm, previous_end
        trm = multiply(tm, state.ctm)
        self.out.add_separator(separator(previous_end, (trm[4], trm[5]), trm, state.size))
        for problem in font.problems:
            self.out.used_problems.add((problem, font.base_font or state.font_name[1:]))
        elements = operands[0] if op == "TJ" else [operands[-1]]
        size, scale = state.size, state.scale
        for element_index, element in enumerate(elements):
            if isinstance(element, pikepdf.String):
                tm = self._add_string(index, element_index, bytes(element), state, tm)
            else:
                try:
                    shift = -float(element) / 1000 * size * scale
                except (TypeError, ValueError):
                    continue
                if shift > 0.15 * abs(size) * scale:
                    self.out.add_separator(" ")
                tm = (*tm[:4], tm[4] + shift * tm[0], tm[5] + shift * tm[1])
        end = multiply(tm, state.ctm)
        return tm, (end[4], end[5])

    def _add_string(
        self, index: int, element: int, data: bytes, state: TextState, tm: Matrix
    ) -> Matrix:
        font = state.font
        assert font is not None
        out = self.out
        fast = font.decode_simple(data)
        if fast is not None:
            text, width, spaces, unmapped = fast
            out.add(text, index, element, None)
            count = len(data)
        else:
            glyphs = font.decode(data)
            pieces: list[str] = []
            glyph_map: list[tuple[int, int, int]] = []
            position = 0
            unmapped = False
            for b0, b1, glyph_text, _width, _space in glyphs:
                if glyph_text is None:
                    glyph_text, unmapped = "\ufffd", True
                glyph_map.append((position, b0, b1))
                pieces.append(glyph_text)
                position += len(glyph_text)
            out.add("".join(pieces), index, element, glyph_map)
            width = sum(g[3] for g in glyphs)
            spaces = sum(1 for g in glyphs if g[4])
            count = len(glyphs)
        if unmapped:
            out.unmapped_fonts.add(font.base_font or state.font_name)
        out.glyph_count += count
        advance = width / 1000 * state.size + state.char_space * count
        advance = (advance + state.word_space * spaces) * state.scale
        return (*tm[:4], tm[4] + advance * tm[0], tm[5] + advance * tm[1])


def _has_marked_text(properties: object) -> bool:
    return isinstance(properties, pikepdf.Dictionary) and any(k in properties for k in _MARKED)


def glyphs_of(text: StreamText, match: Match) -> list[GlyphRef]:
    """Return the glyphs that make up the characters of a match."""
    return text.glyphs_between(match.start, match.end)


def rewrite(instructions: list, removals: list[list[GlyphRef]]) -> list:
    """Return new instructions with the glyphs of each removal gone and a fixed gap in place."""
    cuts: dict[int, dict[int, list[tuple[int, int, bool]]]] = {}
    for glyphs in removals:
        for position, (op_index, element, start, end) in enumerate(glyphs):
            cuts.setdefault(op_index, {}).setdefault(element, []).append(
                (start, end, position == 0)
            )
    result: list = []
    for index, instruction in enumerate(instructions):
        if index not in cuts:
            result.append(instruction)
            continue
        op = str(instruction.operator)
        operands = list(instruction.operands)
        elements = list(operands[0]) if op == "TJ" else [operands[-1]]
        array = pikepdf.Array(_cut_elements(elements, cuts[index]))
        if op == "'":
            result.append(pikepdf.ContentStreamInstruction([], pikepdf.Operator("T*")))
        elif op == '"':
            result.append(pikepdf.ContentStreamInstruction([operands[0]], pikepdf.Operator("Tw")))
            result.append(pikepdf.ContentStreamInstruction([operands[1]], pikepdf.Operator("Tc")))
            result.append(pikepdf.ContentStreamInstruction([], pikepdf.Operator("T*")))
        result.append(pikepdf.ContentStreamInstruction([array], pikepdf.Operator("TJ")))
    return result


def _cut_elements(elements: list, cuts: dict[int, list[tuple[int, int, bool]]]) -> list:
    """Split TJ elements into kept and removed pieces, then join them back with gaps."""
    tokens: list[tuple[str, object]] = []
    for element_index, element in enumerate(elements):
        if not isinstance(element, pikepdf.String):
            tokens.append(("number", element))
            continue
        data = bytes(element)
        position = 0
        for start, end, gap in sorted(cuts.get(element_index, [])):
            if start > position:
                tokens.append(("keep", data[position:start]))
            tokens.append(("gap" if gap else "cut", None))
            position = max(position, end)
        if position < len(data):
            tokens.append(("keep", data[position:]))
    out: list = []
    buffer = b""
    removed_before = False
    for index, (kind, value) in enumerate(tokens):
        if kind == "keep":
            buffer += value  # type: ignore[operator]
            removed_before = False
            continue
        if kind == "number":
            following = next((k for k, _ in tokens[index + 1 :] if k != "number"), "keep")
            if removed_before and following == "cut":
                continue  # Kerning inside a removed name would hint at its letters.
        if buffer:
            out.append(pikepdf.String(buffer))
            buffer = b""
        if kind == "number":
            out.append(value)
        elif kind == "gap":
            out.append(-GAP)
            removed_before = True
        else:
            removed_before = True
    if buffer:
        out.append(pikepdf.String(buffer))
    return out
