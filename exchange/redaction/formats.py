"""Tell what kind of document a vault file is, from its first bytes, media type and name."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from exchange.errors import ValidationError

Kind = Literal["pdf", "image", "office", "email", "text"]

OFFICE_TYPES = {
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/rtf": ".rtf",
    "text/rtf": ".rtf",
}
OFFICE_EXTENSIONS = {".doc", ".docx", ".odt", ".rtf"}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/tiff"}
EMAIL_TYPES = {"message/rfc822"}
_MAGIC: list[tuple[bytes, Kind]] = [
    (b"%PDF-", "pdf"),
    (b"\xff\xd8\xff", "image"),
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"II*\x00", "image"),
    (b"MM\x00*", "image"),
    (b"{\\rtf", "office"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "office"),  # An OLE file: Word 97-2003.
]


def kind_of(path: Path, media_type: str = "", name: str = "") -> Kind:
    """Return the kind of a document; the bytes decide where they can, then the type or name."""
    with path.open("rb") as handle:
        head = handle.read(1024)
    # A PDF may start after a little junk (the PDF reference allows 1024 bytes).
    for magic, kind in _MAGIC:
        if head.startswith(magic) or (kind == "pdf" and magic in head):
            return kind
    media_type = media_type.split(";")[0].strip().lower()
    suffix = Path(name or path.name).suffix.lower()
    if head.startswith(b"PK\x03\x04") and (
        media_type in OFFICE_TYPES or suffix in {".docx", ".odt"}
    ):
        return "office"
    if media_type in EMAIL_TYPES or suffix == ".eml":
        return "email"
    if media_type.startswith("text/") or suffix == ".txt":
        return "text"
    raise ValidationError(
        f"this kind of file ({media_type or suffix or 'unknown'}) cannot be redacted: "
        "upload it as PDF, Word, OpenDocument, RTF, email, text or a JPEG/PNG/TIFF scan"
    )


def office_suffix(media_type: str, name: str, head: bytes) -> str:
    """Return the file name suffix LibreOffice should see for an office document."""
    suffix = Path(name).suffix.lower()
    if suffix in OFFICE_EXTENSIONS:
        return suffix
    if head.startswith(b"{\\rtf"):
        return ".rtf"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return ".doc"
    return OFFICE_TYPES.get(media_type.split(";")[0].strip().lower(), ".docx")
