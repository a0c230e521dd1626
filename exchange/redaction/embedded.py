"""Read the text of glyphs from an embedded font program's own tables (fontTools).

Used for composite fonts that have no `/ToUnicode`: a TrueType or OpenType program maps
Unicode to glyphs in its `cmap` table, which read backwards gives each glyph its text; glyph
names (`post` table, CFF charset) are read through the Adobe Glyph List as a fallback.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

import pikepdf

# A glyph program larger than this is not parsed (an embedded font is rarely over 20 MB).
MAX_FONT_BYTES = 32 * 1024 * 1024


def cid_texts(
    descendant: pikepdf.Dictionary, glyph_text: Callable[[str], str | None]
) -> dict[int, str] | None:
    """Return the text of each CID of a CIDFont from its embedded program, or None."""
    descriptor = descendant.get("/FontDescriptor")
    if not isinstance(descriptor, pikepdf.Dictionary):
        return None
    for key in ("/FontFile2", "/FontFile3"):
        stream = descriptor.get(key)
        if isinstance(stream, pikepdf.Stream):
            break
    else:
        return None
    try:
        data = stream.read_bytes()
    except pikepdf.PdfError:
        return None
    if len(data) > MAX_FONT_BYTES:
        return None
    by_glyph = _glyph_texts(data, key, str(stream.get("/Subtype", "")), glyph_text)
    if not by_glyph:
        return None
    gids = _cid_to_gid(descendant.get("/CIDToGIDMap"))
    texts: dict[int, str] = {}
    if gids is None:
        return dict(by_glyph)
    for cid, gid in enumerate(gids):
        if gid in by_glyph:
            texts[cid] = by_glyph[gid]
    return texts


def _glyph_texts(
    data: bytes, key: str, subtype: str, glyph_text: Callable[[str], str | None]
) -> dict[int, str]:
    """Return glyph id -> text from a font program, or {} if it cannot be read."""
    from fontTools import cffLib, ttLib

    # fontTools logs warnings about damaged tables: they are not ours to report.
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        if key == "/FontFile3" and subtype in ("/CIDFontType0C", "/Type1C"):
            cff = cffLib.CFFFontSet()
            cff.decompile(io.BytesIO(data), None)
            order = cff[cff.fontNames[0]].charset
            return _by_names(order, {}, glyph_text)
        font = ttLib.TTFont(io.BytesIO(data), lazy=True, fontNumber=0)
        order = font.getGlyphOrder()
        best = font.getBestCmap() if "cmap" in font else None
        reverse: dict[str, str] = {}
        for point, name in sorted((best or {}).items(), reverse=True):
            reverse[name] = chr(point)
        return _by_names(order, reverse, glyph_text)
    except Exception:  # A damaged font program is a missing map, not a crash.
        return {}


def _by_names(
    order: list[str], reverse: dict[str, str], glyph_text: Callable[[str], str | None]
) -> dict[int, str]:
    found: dict[int, str] = {}
    for gid, name in enumerate(order):
        text = reverse.get(name) or glyph_text(name)
        if text:
            found[gid] = text
    return found


def _cid_to_gid(mapping: object) -> list[int] | None:
    """Return the CID -> GID table of a CIDFontType2, or None for the identity."""
    if not isinstance(mapping, pikepdf.Stream):
        return None
    try:
        data = mapping.read_bytes()
    except pikepdf.PdfError:
        return None
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2)]
