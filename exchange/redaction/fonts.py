"""Decode the bytes of PDF text-showing strings into Unicode text and glyph widths."""

from __future__ import annotations

import pikepdf
from reportlab.pdfbase import _fontdata
from reportlab.pdfbase._fontdata_enc_macroman import MacRomanEncoding
from reportlab.pdfbase._fontdata_enc_standard import StandardEncoding
from reportlab.pdfbase._fontdata_enc_symbol import SymbolEncoding
from reportlab.pdfbase._fontdata_enc_winansi import WinAnsiEncoding
from reportlab.pdfbase._fontdata_enc_zapfdingbats import ZapfDingbatsEncoding
from reportlab.pdfbase._glyphlist import _glyphname2unicode

from exchange.redaction import embedded, predefined
from exchange.redaction.cmap import CMap, parse_cmap

# One decoded glyph: (byte start, byte end, text or None when unknown, width in 1/1000 em,
# whether it is the single-byte code 32 that word spacing applies to).
Glyph = tuple[int, int, str | None, float, bool]

_BASE_ENCODINGS: dict[str, tuple[str | None, ...]] = {
    "/StandardEncoding": StandardEncoding,
    "/WinAnsiEncoding": WinAnsiEncoding,
    "/MacRomanEncoding": MacRomanEncoding,
}
_STANDARD_14 = {
    "Courier", "Courier-Bold", "Courier-Oblique", "Courier-BoldOblique", "Helvetica",
    "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique", "Times-Roman", "Times-Bold",
    "Times-Italic", "Times-BoldItalic", "Symbol", "ZapfDingbats",
}  # fmt: skip
_LIGATURES = {
    name: text
    for text in ("ff", "fi", "fl", "ffi", "ffl", "ft", "st")
    for name in (text, "_".join(text))
}
_ALIASES = {"Arial": "Helvetica", "TimesNewRoman": "Times-Roman", "CourierNew": "Courier"}


def glyph_text(name: str) -> str | None:
    """Return the Unicode text of a glyph name (Adobe Glyph List and uniXXXX forms)."""
    base = name.split(".", 1)[0]
    if base in _glyphname2unicode:
        value = _glyphname2unicode[base]
        points = value if isinstance(value, tuple) else (value,)
        return "".join(chr(p) for p in points)
    parts = base.split("_")
    if len(parts) > 1:
        texts = [glyph_text(p) for p in parts]
        return None if None in texts else "".join(t for t in texts if t)
    for prefix, size in (("uni", 4), ("u", 0)):
        digits = base[len(prefix) :]
        if base.startswith(prefix) and digits and all(c in "0123456789ABCDEF" for c in digits):
            if size and len(digits) % size == 0:
                return "".join(
                    chr(int(digits[i : i + size], 16)) for i in range(0, len(digits), size)
                )
            if not size and 4 <= len(digits) <= 6:
                return chr(int(digits, 16))
    return None


class Font:
    """Decode one PDF font: its code lengths, Unicode text and widths."""

    def __init__(self, font: pikepdf.Dictionary) -> None:
        self.subtype = str(font.get("/Subtype", "/Type1"))
        self.base_font = str(font.get("/BaseFont", ""))[1:]
        self.problems: set[str] = set()
        self._unicode: CMap | None = _read_cmap(font.get("/ToUnicode"))
        self.composite = self.subtype == "/Type0"
        if self.subtype == "/Type3":
            self.problems.add("type3_font")
        if self.composite:
            self._init_composite(font)
        else:
            self._init_simple(font)

    def _init_simple(self, font: pikepdf.Dictionary) -> None:
        names = self._glyph_names(font)
        widths = self._simple_widths(font, names)
        self._table: list[tuple[str | None, float]] = []
        for code in range(256):
            text: str | None = None
            name = names[code]
            if name in _LIGATURES:
                # A ligature's glyph name is surer than a ToUnicode map that producers get wrong.
                text = _LIGATURES[name]
            elif self._unicode is not None and bytes([code]) in self._unicode.unicode:
                text = self._unicode.unicode[bytes([code])]
            elif names[code] is not None:
                text = glyph_text(names[code] or "")
            self._table.append((text, widths[code]))
        self._widths = [w for _, w in self._table]
        self.widths = self._widths
        single = all(t is None or len(t) == 1 for t, _ in self._table)
        self._translate: dict[int, str] | None = None
        if single:
            self._translate = {
                code: ("\ufffd" if t is None else t) for code, (t, _) in enumerate(self._table)
            }
            self._unknown = bytes(code for code, (t, _) in enumerate(self._table) if t is None)

    def _glyph_names(self, font: pikepdf.Dictionary) -> list[str | None]:
        encoding = font.get("/Encoding")
        base_name = _standard_name(self.base_font)
        if base_name == "Symbol":
            names: list[str | None] = list(SymbolEncoding)
        elif base_name == "ZapfDingbats":
            names = list(ZapfDingbatsEncoding)
        elif self.subtype == "/Type1" and base_name is None and self._unicode is None:
            # An embedded Type 1 font may use its own built-in encoding: standard is a guess.
            names = list(StandardEncoding)
            if encoding is None:
                self.problems.add("builtin_encoding")
        else:
            names = list(StandardEncoding)
        differences = None
        if isinstance(encoding, pikepdf.Name):
            names = list(_BASE_ENCODINGS.get(str(encoding), names))
        elif isinstance(encoding, pikepdf.Dictionary):
            base = encoding.get("/BaseEncoding")
            if base is not None:
                names = list(_BASE_ENCODINGS.get(str(base), names))
            differences = encoding.get("/Differences")
        elif encoding is None and self.subtype == "/TrueType" and self._unicode is None:
            flags = int(font.get("/FontDescriptor", {}).get("/Flags", 0))
            if flags & 4:
                # A symbolic TrueType font maps codes through its own cmap; WinAnsi is a guess
                # that lets us remove what readers would show, and the flag asks for a person.
                self.problems.add("no_unicode_mapping")
                names = list(WinAnsiEncoding)
        if self.subtype == "/Type3" and encoding is None:
            names = [None] * 256
        if differences is not None:
            code = 0
            for item in differences:
                if isinstance(item, pikepdf.Name):
                    if 0 <= code < 256:
                        names[code] = str(item)[1:]
                    code += 1
                else:
                    code = int(item)
        return names

    def _simple_widths(self, font: pikepdf.Dictionary, names: list[str | None]) -> list[float]:
        widths = [0.0] * 256
        scale = 1.0
        if self.subtype == "/Type3":
            matrix = font.get("/FontMatrix")
            scale = float(matrix[0]) * 1000 if matrix is not None else 1.0
        table = font.get("/Widths")
        if table is not None:
            first = int(font.get("/FirstChar", 0))
            for offset, width in enumerate(table):
                if 0 <= first + offset < 256:
                    widths[first + offset] = float(width) * scale
            missing = font.get("/FontDescriptor", {}).get("/MissingWidth", 0)
            for code in range(256):
                if not first <= code < first + len(table):
                    widths[code] = float(missing) * scale
            return widths
        standard = _standard_name(self.base_font)
        metrics = _fontdata.widthsByFontGlyph.get(standard or "Helvetica", {})
        return [float(metrics.get(name, 500)) if name else 500.0 for name in names]

    def _init_composite(self, font: pikepdf.Dictionary) -> None:
        encoding = font.get("/Encoding")
        self._code_cmap: CMap | None = None
        self._identity = False
        self._unicode_form: str | None = None
        self._cid_text: dict[int, str] | tuple[str, ...] | None = None
        descendants = font.get("/DescendantFonts")
        descendant = descendants[0] if descendants else pikepdf.Dictionary()
        if isinstance(encoding, pikepdf.Name):
            name = str(encoding)[1:]
            self._identity = name in ("Identity-H", "Identity-V")
            if not self._identity:
                self._unicode_form = predefined.unicode_form(name)
                self._code_cmap = predefined.load(name)
                if self._code_cmap is None and self._unicode_form is None:
                    self.problems.add("unsupported_cmap")
        elif isinstance(encoding, pikepdf.Stream):
            self._code_cmap = parse_cmap(encoding.read_bytes())
            if self._code_cmap.uses_other_cmap:
                self.problems.add("unsupported_cmap")
        if str(encoding) == "/Identity-V" or str(encoding).endswith("-V"):
            self.problems.add("vertical_text")
        self._default_width = float(descendant.get("/DW", 1000))
        self._cid_widths = _cid_widths(descendant.get("/W"))
        if self._unicode is None and self._unicode_form is None:
            self._cid_text = self._text_without_to_unicode(descendant)
            if self._cid_text is None:
                self.problems.add("no_unicode_mapping")

    @staticmethod
    def _text_without_to_unicode(
        descendant: pikepdf.Dictionary,
    ) -> dict[int, str] | tuple[str, ...] | None:
        """Find each CID's text without /ToUnicode: the font program, else the collection."""
        texts = embedded.cid_texts(descendant, glyph_text)
        if texts:
            return texts
        info = descendant.get("/CIDSystemInfo")
        if isinstance(info, pikepdf.Dictionary) and str(info.get("/Registry", "")) == "Adobe":
            return predefined.cid_to_unicode(str(info.get("/Ordering", "")))
        return None

    def decode_simple(self, data: bytes) -> tuple[str, float, int, bool] | None:
        """Return (text, total width, spaces, unmapped) when each byte is one character."""
        if self.composite or self._translate is None:
            return None
        text = data.decode("latin-1").translate(self._translate)
        width = sum(map(self._widths.__getitem__, data))
        unmapped = bool(self._unknown) and "\ufffd" in text
        return text, width, data.count(32), unmapped

    def decode(self, data: bytes) -> list[Glyph]:
        """Return the glyphs of a string's bytes."""
        if not self.composite:
            table = self._table
            return [(i, i + 1, table[b][0], table[b][1], b == 32) for i, b in enumerate(data)]
        glyphs: list[Glyph] = []
        at = 0
        unicode = self._unicode.unicode if self._unicode is not None else {}
        form = self._unicode_form
        while at < len(data):
            if form is not None:
                length = predefined.code_length(form, data, at)
            elif self._code_cmap is not None:
                length = self._code_cmap.code_length(data, at)
            elif self._unicode is not None and self._unicode.codespaces and not self._identity:
                length = self._unicode.code_length(data, at)
            else:
                length = 2
            code = data[at : at + length]
            cid = self._code_cmap.cid(code) if self._code_cmap is not None else None
            if cid is None:
                cid = int.from_bytes(code, "big")
            text = unicode.get(code)
            if text is None and form is not None:
                text = predefined.code_text(form, code)
            if text is None and self._cid_text is not None:
                text = _lookup(self._cid_text, cid)
            width = self._cid_widths.get(cid, self._default_width)
            glyphs.append((at, at + length, text, width, code == b"\x20"))
            at += length
        return glyphs


def _lookup(table: dict[int, str] | tuple[str, ...], cid: int) -> str | None:
    if isinstance(table, dict):
        return table.get(cid)
    return table[cid] or None if 0 <= cid < len(table) else None


def _standard_name(base_font: str) -> str | None:
    name = base_font.split("+", 1)[-1]
    name = _ALIASES.get(name.split(",", 1)[0], name) if "," not in name else name
    if "," in name:
        family, style = name.split(",", 1)
        family = _ALIASES.get(family, family)
        suffix = {"Bold": "-Bold", "Italic": "-Oblique", "BoldItalic": "-BoldOblique"}
        name = family + suffix.get(style, "")
    return name if name in _STANDARD_14 else None


def _read_cmap(stream: object) -> CMap | None:
    if not isinstance(stream, pikepdf.Stream):
        return None
    try:
        cmap = parse_cmap(stream.read_bytes())
    except (pikepdf.PdfError, ValueError):
        return None
    return cmap if cmap.unicode else None


def _cid_widths(table: object) -> dict[int, float]:
    widths: dict[int, float] = {}
    if not isinstance(table, pikepdf.Array):
        return widths
    items = list(table)
    i = 0
    while i + 1 < len(items):
        first = int(items[i])
        following = items[i + 1]
        if isinstance(following, pikepdf.Array):
            for offset, width in enumerate(following):
                widths[first + offset] = float(width)
            i += 2
        elif i + 2 < len(items):
            last, width = int(following), float(items[i + 2])
            if last - first <= 65536:
                for cid in range(first, last + 1):
                    widths[cid] = width
            i += 3
        else:
            break
    return widths
