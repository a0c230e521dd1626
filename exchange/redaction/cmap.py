"""Parse the parts of CMap streams needed to decode text: codespaces, bf and cid maps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(rb"<([0-9A-Fa-f\s]*)>|(\[)|(\])|/([^\s/\[\]<>(){}%]+)|([A-Za-z]+)|(-?\d+)")


@dataclass
class CMap:
    """Map character codes to Unicode text or CIDs, with the code byte lengths in use."""

    codespaces: list[tuple[int, bytes, bytes]] = field(default_factory=list)
    unicode: dict[bytes, str] = field(default_factory=dict)
    cids: dict[bytes, int] = field(default_factory=dict)
    cid_ranges: list[tuple[bytes, bytes, int]] = field(default_factory=list)
    uses_other_cmap: bool = False
    parent: str | None = None  # The CMap named by usecmap, if any.

    def code_length(self, data: bytes, at: int) -> int:
        """Return the byte length of the code starting at an offset (1 when unknown)."""
        for length, low, high in self.codespaces:
            piece = data[at : at + length]
            if len(piece) == length and all(
                lo <= b <= hi for b, lo, hi in zip(piece, low, high, strict=True)
            ):
                return length
        return 1

    def cid(self, code: bytes) -> int | None:
        """Return the CID for a code, if this CMap maps it."""
        if code in self.cids:
            return self.cids[code]
        for low, high, first in self.cid_ranges:
            if len(code) == len(low) and low <= code <= high:
                return first + int.from_bytes(code, "big") - int.from_bytes(low, "big")
        return None


def _unhex(text: bytes) -> bytes:
    cleaned = re.sub(rb"\s+", b"", text)
    if len(cleaned) % 2:
        cleaned += b"0"
    return bytes.fromhex(cleaned.decode("ascii"))


def _utf16(data: bytes) -> str:
    if len(data) % 2:
        data = b"\x00" + data
    if len(data) >= 4 and not any(data[1::2]) and all(0x20 < b < 0x7F for b in data[0::2]):
        # Ghostscript writes some ligatures one byte off: <66006600> for "ff" (U+6600 U+6600).
        return data[0::2].decode("ascii")
    return data.decode("utf-16-be", errors="replace")


def _tokens(data: bytes) -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for m in _TOKEN.finditer(data):
        hexa, opening, closing, name, word, number = m.groups()
        if hexa is not None:
            found.append(("hex", _unhex(hexa)))
        elif opening:
            found.append(("[", None))
        elif closing:
            found.append(("]", None))
        elif name is not None:
            found.append(("name", name.decode("latin-1")))
        elif word is not None:
            found.append(("word", word.decode("ascii")))
        else:
            found.append(("int", int(number)))
    return found


def _increment(data: bytes, by: int) -> bytes:
    value = int.from_bytes(data, "big") + by
    return value.to_bytes(max(len(data), (value.bit_length() + 7) // 8), "big")


def parse_cmap(data: bytes) -> CMap:
    """Parse a ToUnicode or embedded encoding CMap stream."""
    cmap = CMap()
    tokens = _tokens(data)
    section: str | None = None
    operands: list[object] = []
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        i += 1
        if kind == "[":
            items = []
            while i < len(tokens) and tokens[i][0] != "]":
                items.append(tokens[i][1])
                i += 1
            i += 1
            operands.append(items)
            _consume(cmap, section, operands)
            continue
        if kind != "word":
            operands.append(value)
            _consume(cmap, section, operands)
            continue
        word = str(value)
        if word.startswith("begin") and word != "begincmap":
            section = word[5:]
            operands = []
        elif word.startswith("end"):
            section = None
            operands = []
        elif word == "usecmap":
            cmap.uses_other_cmap = True
            if operands and isinstance(operands[-1], str):
                cmap.parent = operands[-1]
            operands = []
    cmap.codespaces.sort(key=lambda c: c[0])
    return cmap


def _consume(cmap: CMap, section: str | None, operands: list[object]) -> None:
    """Apply one complete entry of the current section, if operands are complete."""
    if section == "codespacerange" and len(operands) == 2:
        low, high = operands
        if isinstance(low, bytes) and isinstance(high, bytes) and len(low) == len(high):
            cmap.codespaces.append((len(low), low, high))
        operands.clear()
    elif section == "bfchar" and len(operands) == 2:
        src, dst = operands
        if isinstance(src, bytes) and isinstance(dst, bytes):
            cmap.unicode[src] = _utf16(dst)
        elif isinstance(src, bytes) and isinstance(dst, str):
            cmap.unicode[src] = ""  # A glyph name target: no text.
        operands.clear()
    elif section == "bfrange" and len(operands) == 3:
        low, high, dst = operands
        if isinstance(low, bytes) and isinstance(high, bytes):
            _bfrange(cmap, low, high, dst)
        operands.clear()
    elif section == "cidchar" and len(operands) == 2:
        src, cid = operands
        if isinstance(src, bytes) and isinstance(cid, int):
            cmap.cids[src] = cid
        operands.clear()
    elif section == "cidrange" and len(operands) == 3:
        low, high, first = operands
        if isinstance(low, bytes) and isinstance(high, bytes) and isinstance(first, int):
            cmap.cid_ranges.append((low, high, first))
        operands.clear()
    elif section is None:
        operands.clear()


def _bfrange(cmap: CMap, low: bytes, high: bytes, dst: object) -> None:
    count = int.from_bytes(high, "big") - int.from_bytes(low, "big") + 1
    if count <= 0 or count > 65536:
        return
    for offset in range(count):
        code = _increment(low, offset).rjust(len(low), b"\x00")[-len(low) :]
        if isinstance(dst, list):
            if offset < len(dst) and isinstance(dst[offset], bytes):
                cmap.unicode[code] = _utf16(dst[offset])
        elif isinstance(dst, bytes) and dst:
            cmap.unicode[code] = _utf16(_increment(dst, offset).rjust(len(dst), b"\x00"))
