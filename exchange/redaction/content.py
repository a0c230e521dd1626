"""Read the text of one content stream, find names in it and rewrite it without them."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

import pikepdf

from exchange.redaction.fonts import Font
from exchange.redaction.geometry import GAP, IDENTITY, JOIN, Matrix, multiply, separator, to_matrix
from exchange.redaction.matcher import Match

_SHOW = frozenset({"Tj", "TJ", "'", '"'})
# Every operator that read() acts on.
_READ = (
    _SHOW
    | {"Tf", "Td", "TD", "Tm", "T*", "BT", "Tc", "Tw", "Tz", "TL", "cm", "q", "Q"}
    | {"BDC", "DP", "BMC", "EMC"}
)
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


# A glyph to remove: (instruction index, element index in a TJ array, byte start, byte end,
# advance in thousandths of the font size, as a TJ number would move the pen).
GlyphRef = tuple[int, int, int, int, float]
# One glyph of a chunk: (char start, byte start, byte end, advance in TJ units).
GlyphMap = list[tuple[int, int, int, float]]


@dataclass(frozen=True)
class Metrics:
    """Hold what the advance of one byte of a simple-font chunk depends on."""

    widths: list[float]
    size: float
    char_space: float
    word_space: float

    def extras(self) -> tuple[float, float]:
        """Return what spacing adds to a byte's width in TJ units (thousandths of the font
        size): (any other byte, a space byte), so a byte's advance is its width plus one."""
        if not self.size:
            return 0.0, 0.0
        plain = (self.char_space + 0.0) * 1000 / self.size
        return plain, (self.char_space + self.word_space) * 1000 / self.size


@dataclass
class StreamText:
    """Hold the text of a stream as chunks, each one string operand or a separator."""

    chunks: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    # Per chunk: (instruction index or -1 for a separator, element index, glyph map or the
    # metrics of a chunk with one character per byte).
    sources: list[tuple[int, int, GlyphMap | Metrics | None]] = field(default_factory=list)
    length: int = 0
    raw: dict[int, bytes] = field(default_factory=dict)  # Chunk index -> its bytes (simple fonts).
    glyph_count: int = 0
    unmapped_fonts: set[str] = field(default_factory=set)
    used_problems: set[tuple[str, str]] = field(default_factory=set)

    @property
    def text(self) -> str:
        """Return the text as one string."""
        return "".join(self.chunks)

    def add(self, chunk: str, op: int, element: int, glyphs: GlyphMap | Metrics | None) -> None:
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
                if isinstance(glyphs, Metrics):
                    raw = self.raw.get(index)
                    codes = (
                        raw[low:high] if raw is not None else _codes(self.chunks[index], low, high)
                    )
                    widths, plain, space = glyphs.widths, *glyphs.extras()
                    found.extend(
                        (op, element, k, k + 1, widths[byte] + (space if byte == 32 else plain))
                        for k, byte in zip(range(low, high), codes, strict=True)
                    )
                elif glyphs is not None:
                    found.extend(
                        (op, element, b0, b1, units)
                        for position, (char, b0, b1, units) in enumerate(glyphs)
                        if char < high and _glyph_end(glyphs, position, self.chunks[index]) > low
                    )
            index += 1
        return found


def _codes(chunk: str, low: int, high: int) -> list[int]:
    """Return the bytes behind characters low..high of a one-byte-per-character chunk."""
    return [ord(char) & 0xFF for char in chunk[low:high]]


def _glyph_end(glyphs: GlyphMap, position: int, chunk: str) -> int:
    return glyphs[position + 1][0] if position + 1 < len(glyphs) else len(chunk)


class ContentReader:
    """Interpret a content stream to collect its text with glyph positions."""

    def __init__(self, fonts: Callable[[object], Font | None], resources: pikepdf.Object) -> None:
        self.fonts = fonts
        self.resources = resources
        self.out = StreamText()
        self.marked: list[int] = []
        self.images = 0
        self._spans: list[str | None] = []  # Open marked content: its /ActualText, if any.
        self._metrics: dict[tuple[int, float, float, float], Metrics] = {}

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
            try:  # Inline, not operator_of(): this loop runs for every operator of every page.
                op = str(instruction.operator)
            except UnicodeDecodeError:
                continue  # Bytes that are no operator: skipped, as viewers skip them.
            if op not in _READ:
                continue  # Paths, colours, ET...: nothing that places or shows text.
            operands = instruction.operands
            if op in _SHOW:
                if op in ("'", '"'):
                    spacing = _numbers(operands[-3:-1], 2) if op == '"' else None
                    if spacing is not None:
                        state.word_space, state.char_space = spacing
                    tlm = (
                        *tlm[:4],
                        tlm[4] - state.leading * tlm[2],
                        tlm[5] - state.leading * tlm[3],
                    )
                    tm = tlm
                tm, previous_end = self._show(index, op, operands, state, tm, previous_end)
            elif op == "Tf" and len(operands) >= 2 and (size := _numbers(operands, 1)):
                state.font_name = str(operands[-2])
                state.font = self._font(operands[-2])
                state.size = size[0]
            elif op in ("Td", "TD") and (move := _numbers(operands, 2)):
                tx, ty = move
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
            elif op == "Tc" and (value := _numbers(operands, 1)):
                state.char_space = value[0]
            elif op == "Tw" and (value := _numbers(operands, 1)):
                state.word_space = value[0]
            elif op == "Tz" and (value := _numbers(operands, 1)):
                state.scale = value[0] / 100
            elif op == "TL" and (value := _numbers(operands, 1)):
                state.leading = value[0]
            elif op == "cm":
                state.ctm = multiply(to_matrix(list(operands)), state.ctm)
            elif op == "q":
                stack.append(state.copy())
            elif op == "Q" and stack:
                state = stack.pop()
            elif op in ("BDC", "DP") and len(operands) == 2 and _has_marked_text(operands[1]):
                self.marked.append(index)
                if op == "BDC":
                    single = _strings_in_span(instructions, index) == 1
                    self._spans.append(_actual_text(operands[1]) if single else None)
            elif op in ("BMC", "BDC"):
                self._spans.append(None)
            elif op == "EMC" and self._spans:
                self._spans.pop()
        return self.out

    def _font(self, name: object) -> Font | None:
        fonts = (
            self.resources.get("/Font") if isinstance(self.resources, pikepdf.Dictionary) else None
        )
        if not isinstance(fonts, pikepdf.Dictionary):
            return None  # No font resources: poppler shows no text for it either.
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
        if op == "TJ" and not isinstance(operands[-1], pikepdf.Array):
            return tm, previous_end  # Not an array: poppler ignores the operator.
        trm = multiply(tm, state.ctm)
        self.out.add_separator(separator(previous_end, (trm[4], trm[5]), trm, state.size))
        for problem in font.problems:
            self.out.used_problems.add((problem, font.base_font or state.font_name[1:]))
        elements = operands[-1] if op == "TJ" else [operands[-1]]
        size, scale = state.size, state.scale
        for element_index, element in enumerate(elements):
            if isinstance(element, pikepdf.String):
                tm = self._add_string(index, element_index, bytes(element), state, tm)
            else:
                try:
                    shift = -float(element) / 1000 * size * scale
                except (TypeError, ValueError):
                    continue
                if shift > JOIN * abs(size) * scale:
                    self.out.add_separator(GAP)
                tm = (*tm[:4], tm[4] + shift * tm[0], tm[5] + shift * tm[1])
        end = multiply(tm, state.ctm)
        return tm, (end[4], end[5])

    def _add_string(
        self, index: int, element: int, data: bytes, state: TextState, tm: Matrix
    ) -> Matrix:
        font = state.font
        assert font is not None
        out = self.out
        size = state.size
        spaced = _letter_spaced(state)
        actual = self._take_actual_text()
        fast = None if spaced or actual is not None else font.decode_simple(data)
        if fast is not None:
            text, width, spaces, unmapped = fast
            key = (id(font), size, state.char_space, state.word_space)
            metrics = self._metrics.get(key)
            if metrics is None:  # The same for every string shown with this font and spacing.
                metrics = self._metrics[key] = Metrics(
                    font.widths, size, state.char_space, state.word_space
                )
            out.raw[len(out.chunks)] = data
            out.add(text, index, element, metrics)
            count = len(data)
        else:
            glyphs = font.decode(data)
            pieces: list[str] = []
            glyph_map: GlyphMap = []
            position = 0
            unmapped = False
            for number, (b0, b1, glyph_text, width, space) in enumerate(glyphs):
                if glyph_text is None:
                    glyph_text, unmapped = "\ufffd", True
                if spaced and number:
                    pieces.append(GAP)
                    position += 1
                extra = state.char_space + (state.word_space if space else 0.0)
                units = width + (extra * 1000 / size if size else 0.0)
                glyph_map.append((position, b0, b1, units))
                pieces.append(glyph_text)
                position += len(glyph_text)
            if actual is not None and glyphs:
                # Marked content says what these glyphs stand for (a soft hyphen, a ligature).
                pieces, unmapped = [actual], False
                glyph_map = [(0, glyphs[0][0], glyphs[-1][1], sum(m[3] for m in glyph_map))]
            out.add("".join(pieces), index, element, glyph_map)
            width = sum(g[3] for g in glyphs)
            spaces = sum(1 for g in glyphs if g[4])
            count = len(glyphs)
        if unmapped:
            out.unmapped_fonts.add(font.base_font or state.font_name)
        out.glyph_count += count
        advance = width / 1000 * size + state.char_space * count
        advance = (advance + state.word_space * spaces) * state.scale
        return (*tm[:4], tm[4] + advance * tm[0], tm[5] + advance * tm[1])

    def _take_actual_text(self) -> str | None:
        """Return the /ActualText of the innermost open span, once (for its first string)."""
        for position in range(len(self._spans) - 1, -1, -1):
            text = self._spans[position]
            if text is not None:
                self._spans[position] = None
                return text
        return None


def _letter_spaced(state: TextState) -> bool:
    """Say whether character spacing leaves a visible gap after every glyph."""
    return state.char_space > JOIN * abs(state.size) > 0


def _strings_in_span(instructions: list, start: int) -> int:
    """Count the strings shown between a BDC and its EMC (stopping early past two).

    /ActualText is used only for a span of one string: spread over several, the glyphs of
    the later strings could not be removed with it.
    """
    depth, count = 0, 0
    for instruction in instructions[start + 1 :]:
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            continue
        op = operator_of(instruction)
        if op in ("BMC", "BDC"):
            depth += 1
        elif op == "EMC":
            if depth == 0:
                break
            depth -= 1
        elif op == "TJ" and instruction.operands:
            shown = instruction.operands[-1]
            if isinstance(shown, pikepdf.Array):
                count += sum(isinstance(e, pikepdf.String) for e in shown)
        elif op in _SHOW:
            count += 1
        if count > 1:
            break
    return count


def _actual_text(properties: object) -> str | None:
    value = properties.get("/ActualText") if isinstance(properties, pikepdf.Dictionary) else None
    if not isinstance(value, pikepdf.String):
        return None
    try:
        return str(value)
    except UnicodeDecodeError:
        return None


def _has_marked_text(properties: object) -> bool:
    return isinstance(properties, pikepdf.Dictionary) and any(k in properties for k in _MARKED)


def glyphs_of(text: StreamText, match: Match) -> list[GlyphRef]:
    """Return the glyphs that make up the characters of a match."""
    return text.glyphs_between(match.start, match.end)


def rewrite(instructions: list, removals: list[list[GlyphRef]]) -> list:
    """Return new instructions without the glyphs of each removal, the pen kept in place.

    Each removed run of glyphs (with any kerning inside it) becomes one TJ number equal to
    its width, so the text after a removed name stays where it was.
    """
    cuts: dict[int, dict[int, list[tuple[int, int, float]]]] = {}
    for glyphs in removals:
        for op_index, element, start, end, units in glyphs:
            by_element = cuts.get(op_index)
            if by_element is None:
                by_element = cuts[op_index] = {}
            found = by_element.get(element)
            if found is None:
                found = by_element[element] = []
            found.append((start, end, units))
    result: list = []
    previous = 0
    for index in sorted(cuts):
        result.extend(instructions[previous:index])  # Unchanged instructions, kept as they are.
        previous = index + 1
        instruction = instructions[index]
        op = operator_of(instruction)
        operands = list(instruction.operands)
        # The same operands the reader read: the last ones, as poppler reads them.
        elements = list(operands[-1]) if op == "TJ" else [operands[-1]]
        array = pikepdf.Array(_cut_elements(elements, cuts[index]))
        if op == "'":
            result.append(pikepdf.ContentStreamInstruction([], pikepdf.Operator("T*")))
        elif op == '"':
            if _numbers(operands[-3:-1], 2) is not None:
                word_space, char_space = operands[-3], operands[-2]
                for value, name in ((word_space, "Tw"), (char_space, "Tc")):
                    result.append(pikepdf.ContentStreamInstruction([value], pikepdf.Operator(name)))
            result.append(pikepdf.ContentStreamInstruction([], pikepdf.Operator("T*")))
        result.append(pikepdf.ContentStreamInstruction([array], pikepdf.Operator("TJ")))
    result.extend(instructions[previous:])
    return result


def _cut_elements(elements: list, cuts: dict[int, list[tuple[int, int, float]]]) -> list:
    """Split TJ elements into kept and removed pieces; each removed run becomes its width.

    Between two pieces of kept text, the numbers stay as they are when nothing was cut there;
    otherwise they and the removed glyphs' widths become one number (their sum, in order).
    """
    out: list = []  # Kept text as bytes (joined while adjacent), numbers as they came.
    numbers: list = []  # The numbers since the last kept text.
    total, cut = 0.0, False  # Their sum less the widths cut since then, and whether any was.

    def settle() -> None:
        if not cut:
            out.extend(numbers)
        elif abs(total) > 0.0005:
            out.append(round(total, 3))

    for element_index, element in enumerate(elements):
        if not isinstance(element, pikepdf.String):
            numbers.append(element)
            try:
                total += float(element)
            except (TypeError, ValueError):
                continue  # Not a number: kept as it is, left out of the sum.
            continue
        data = bytes(element)
        position = 0
        pieces = cuts.get(element_index)
        for start, end, units in sorted(set(pieces)) if pieces else ():
            if start < position:
                continue  # The same glyph found by two overlapping matches.
            if start > position:
                settle()
                numbers, total, cut = [], 0.0, False
                _keep(out, data[position:start])
            total -= float(units)
            cut = True
            position = end
        if position < len(data):
            settle()
            numbers, total, cut = [], 0.0, False
            _keep(out, data[position:])
    settle()
    return [pikepdf.String(item) if isinstance(item, bytes) else item for item in out]


def _keep(out: list, data: bytes) -> None:
    """Append kept text, joined to the kept text before it when nothing lies between."""
    if out and isinstance(out[-1], bytes):
        out[-1] += data
    else:
        out.append(data)


def _numbers(operands: list, count: int) -> list[float] | None:
    """Return an operator's last `count` operands as numbers, or None to ignore the operator.

    As poppler reads them: extra operands before the last `count` are dropped, and an
    operator with too few operands, or one of the wrong type, is ignored.
    """
    if len(operands) < count:
        return None
    try:
        values = [float(value) for value in operands[len(operands) - count :]]
    except (TypeError, ValueError):
        return None
    return values if all(math.isfinite(value) for value in values) else None


def operator_of(instruction: pikepdf.ContentStreamInstruction) -> str:
    """Return the instruction's operator, or "" for bytes that are no operator (skipped, as
    viewers skip an unknown operator)."""
    try:
        return str(instruction.operator)
    except UnicodeDecodeError:
        return ""
