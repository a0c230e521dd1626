"""File names from document titles that every common file system accepts."""

from __future__ import annotations

import re
import unicodedata

from exchange.packaging.names import fold

MAX_NAME_BYTES = 120
# Characters Windows refuses in a name, and both path separators.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
_SPACES = re.compile(r"\s+")
_DEVICES = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"com{n}" for n in "123456789¹²³"}
    | {f"lpt{n}" for n in "123456789¹²³"}
)


def _clean(title: str) -> str:
    text = unicodedata.normalize("NFC", title)
    # Control, format (bidi overrides, zero-width), separator and unassigned characters go.
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    text = _FORBIDDEN.sub("_", text)
    return _SPACES.sub(" ", text).strip(" .")


def _cut(stem: str, limit: int) -> str:
    encoded = stem.encode("utf-8")[:limit]
    return encoded.decode("utf-8", errors="ignore").rstrip(" .")


def title_stem(title: str) -> str:
    """Return the title without a file extension it may carry (a filename used as title)."""
    stem, dot, extension = title.rpartition(".")
    if dot and stem.strip() and re.fullmatch(r"[A-Za-z0-9]{1,5}", extension):
        return stem
    return title


def safe_file_name(title: str, extension: str, fallback: str, taken: set[str]) -> str:
    """Return a unique, portable file name for a title, and add its folded form to taken."""
    suffix = "." + (extension.lower().lstrip(".") or "bin")
    stem = _clean(title_stem(title)) or fallback
    if stem.split(".", 1)[0].strip().casefold() in _DEVICES:
        stem = f"_{stem}"
    limit = MAX_NAME_BYTES - len(suffix)
    name = _cut(stem, limit) + suffix
    number = 1
    while fold(name) in taken:
        number += 1
        marker = f" ({number})"
        name = _cut(stem, limit - len(marker)) + marker + suffix
    taken.add(fold(name))
    return name
