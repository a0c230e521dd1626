"""Read predefined CMaps (UniJIS-UCS2-H, GBK-EUC-H, ...) by name, as poppler and Ghostscript do.

Unicode CMaps (`Uni...-UCS2-H`, `-UTF16-`, `-UTF32-`, `-UTF8-`) carry the text in the codes
themselves, so they are decoded without any file. The CIDs they map to (for glyph widths) and
every other predefined CMap are read from poppler-data or Ghostscript's CMap folder when
installed; CID to Unicode for the Adobe character collections comes from poppler-data.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from exchange.redaction.cmap import CMap, parse_cmap

CMAP_FOLDERS = (
    Path("/usr/share/poppler/cMap"),
    Path("/var/lib/ghostscript/CMap"),
    Path("/usr/share/ghostscript/Resource/CMap"),
)
CID_TO_UNICODE = Path("/usr/share/poppler/cidToUnicode")
_UNICODE_NAME = re.compile(r"^Uni[A-Za-z]+-(UCS2|UTF16|UTF32|UTF8)(?:-HW)?-[HV]$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")


def unicode_form(name: str) -> str | None:
    """Return "UCS2", "UTF16", "UTF32" or "UTF8" for a Unicode CMap name, else None."""
    found = _UNICODE_NAME.match(name)
    return found.group(1) if found else None


def code_length(form: str, data: bytes, at: int) -> int:
    """Return the byte length of the code at an offset in a Unicode-encoded string."""
    if form == "UCS2":
        return 2
    if form == "UTF32":
        return 4
    if form == "UTF16":
        high = data[at : at + 2]
        return 4 if len(high) == 2 and 0xD8 <= high[0] <= 0xDB else 2
    lead = data[at]
    return 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def code_text(form: str, code: bytes) -> str | None:
    """Return the text of one code of a Unicode CMap."""
    encoding = {"UCS2": "utf-16-be", "UTF16": "utf-16-be", "UTF32": "utf-32-be"}.get(form, "utf-8")
    try:
        return code.decode(encoding)
    except UnicodeDecodeError:
        return None


@lru_cache(maxsize=32)
def load(name: str) -> CMap | None:
    """Return a predefined CMap read from the installed CMap files, or None if absent."""
    return _load(name, 0)


def _load(name: str, depth: int) -> CMap | None:
    if depth > 4 or not _SAFE_NAME.match(name):
        return None
    path = _find(name)
    if path is None:
        return None
    cmap = parse_cmap(path.read_bytes())
    if cmap.parent:
        parent = _load(cmap.parent, depth + 1)
        if parent is not None:
            cmap.codespaces = cmap.codespaces or parent.codespaces
            cmap.cids = {**parent.cids, **cmap.cids}
            cmap.cid_ranges = cmap.cid_ranges + parent.cid_ranges
            cmap.unicode = {**parent.unicode, **cmap.unicode}
            cmap.uses_other_cmap = False
    return cmap


def _find(name: str) -> Path | None:
    for folder in CMAP_FOLDERS:
        for candidate in (folder / name, *folder.glob(f"*/{name}")):
            if candidate.is_file():
                return candidate
    return None


@lru_cache(maxsize=8)
def cid_to_unicode(ordering: str) -> tuple[str, ...] | None:
    """Return the text of each CID of an Adobe character collection (poppler-data)."""
    if not _SAFE_NAME.match(ordering):
        return None
    path = CID_TO_UNICODE / ordering
    if not path.is_file():
        return None
    texts = []
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        try:
            texts.append("".join(chr(int(part, 16)) for part in line.split()))
        except ValueError:
            texts.append("")
    return tuple(texts)
