"""Rules for entry names in the inner archive (spec section "Entry names")."""

from __future__ import annotations

import re
import unicodedata

from exchange.packaging.errors import InvalidBundle

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.jws"
RESERVED = frozenset({MANIFEST_NAME, SIGNATURE_NAME})
REQUIRED = ("chronology.json", "chronology.pdf", "conversation.json")
MAX_NAME_BYTES = 100
VAULT_NAME = re.compile(r"vault/[0-9]{4,9}\.[a-z0-9]{1,8}")
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Names Windows reserves for devices, whatever the extension (checked case-insensitively).
_DEVICES = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{n}" for n in range(1, 10)}
    | {f"lpt{n}" for n in range(1, 10)}
)


def vault_name(number: int, extension: str) -> str:
    """Return the neutral name of the n-th vault file, e.g. vault/0001.pdf."""
    extension = extension.lower().lstrip(".") or "bin"
    if not re.fullmatch(r"[a-z0-9]{1,8}", extension):
        extension = "bin"
    return f"vault/{number:04d}.{extension}"


def check_name(name: str, where: str) -> None:
    """Raise InvalidBundle unless name is a safe relative entry name."""
    if not name:
        raise InvalidBundle(f"{where}: an entry has an empty name")
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        raise InvalidBundle(f"{where}: entry {name!r} has an absolute path")
    if "\\" in name:
        raise InvalidBundle(f"{where}: entry {name!r} contains a backslash")
    segments = name.split("/")
    if ".." in segments:
        raise InvalidBundle(f"{where}: entry {name!r} climbs out of the archive with '..'")
    if any(segment in ("", ".") for segment in segments):
        raise InvalidBundle(f"{where}: entry {name!r} has an empty or '.' path segment")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES or len(segments) > 2:
        raise InvalidBundle(f"{where}: entry {name!r} is too long or too deep")
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise InvalidBundle(
            f"{where}: entry {name!r} uses characters outside A-Z, a-z, 0-9, '.', '_', '-'"
        )
    if any(segment.endswith(".") for segment in segments):
        raise InvalidBundle(f"{where}: entry {name!r} ends a segment with '.' (Windows drops it)")
    if any(segment.split(".", 1)[0].casefold() in _DEVICES for segment in segments):
        raise InvalidBundle(f"{where}: entry {name!r} uses a Windows device name")


def check_listed_name(name: str, where: str) -> None:
    """Raise InvalidBundle unless name is a required file or a vault/NNNN.ext name."""
    check_name(name, where)
    if name in RESERVED:
        raise InvalidBundle(f"{where} lists the reserved name {name!r}")
    if name not in REQUIRED and not VAULT_NAME.fullmatch(name):
        raise InvalidBundle(
            f"{where} lists {name!r}, which is neither a required file nor a vault/NNNN.ext name"
        )


def fold(name: str) -> str:
    """Return the form under which two names collide on a case-insensitive file system."""
    return unicodedata.normalize("NFC", name).casefold()
