"""Read the text of one content stream, find names in it and rewrite it without them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pikepdf

from exchange.redaction.fonts import Font, Glyph
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


@dataclass
class StreamText:
    """Hold the text of a stream and, for each character, the glyph it came from."""

    chars: list[str] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    # Per glyph: (instruction index, element index in a TJ array, byte start, byte end).
    glyphs: list[tuple[int, int, int, int]] = field(default_factory=list)
    unmapped_fonts: set[str] = field(default_factory=set)
    used_problems: set[tuple[str, str]] = field(default_factory=set)

    @property
    def text(self) -> str:
        """Return the text as one string."""
        return "".join(self.chars)

    def add_separator(self, sep: str) -> None:
        """Append a separator that belongs to no glyph."""
        if sep:
            self.chars.append(sep)
            self.owners.append(-1)


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
                glyphs = font.decode(bytes(element))
                tm = self._add_glyphs(index, element_index, glyphs, state, tm)
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

    def _add_glyphs(
        self, index: int, element: int, glyphs: list[Glyph], state: TextState, tm: Matrix
    ) -> Matrix:
        out = self.out
        advance = 0.0
        size, char_space, word_space = state.size, state.char_space, state.word_space
        for start, end, text, width, is_space in glyphs:
            glyph_id = len(out.glyphs)
            out.glyphs.append((index, element, start, end))
            if text is None:
                text = "\ufffd"
                font = state.font
                out.unmapped_fonts.add(font.base_font if font else state.font_name)
            for char in text:
                out.chars.append(char)
                out.owners.append(glyph_id)
            advance += width / 1000 * size + char_space + (word_space if is_space else 0.0)
        advance *= state.scale
        return (*tm[:4], tm[4] + advance * tm[0], tm[5] + advance * tm[1])


def _has_marked_text(properties: object) -> bool:
    return isinstance(properties, pikepdf.Dictionary) and any(k in properties for k in _MARKED)


def glyphs_of(text: StreamText, match: Match) -> list[int]:
    """Return the glyph ids that make up the characters of a match."""
    seen: dict[int, None] = {}
    for owner in text.owners[match.start : match.end]:
        if owner >= 0:
            seen[owner] = None
    return list(seen)


def rewrite(instructions: list, text: StreamText, removals: list[list[int]]) -> list:
    """Return new instructions with the glyphs of each removal gone and a fixed gap in place."""
    cuts: dict[int, dict[int, list[tuple[int, int, bool]]]] = {}
    for glyph_ids in removals:
        for position, glyph_id in enumerate(glyph_ids):
            op_index, element, start, end = text.glyphs[glyph_id]
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
