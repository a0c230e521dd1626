"""Read a bundle's age header cheaply and cap it before any key work (spec step 1).

An age header is the line `age-encryption.org/v1`, one stanza per recipient (each starts
with a line `-> `), then the MAC line `--- `. A decrypter tries every stanza with every
identity, so a header with thousands of stanzas costs minutes; a bundle to one school
needs one stanza (a handful at most), so the header is counted here, without any crypto.
The age crate also parses a stanza's body in time that grows with the square of its length
(about 30 ms for one stanza of 800 lines, 8 s through its bytes API for 1,600), so a stanza
is capped at MAX_STANZA_LINES lines, far above what any recipient type writes.
"""

from __future__ import annotations

from typing import BinaryIO

from exchange.packaging.errors import InvalidBundle

MAX_RECIPIENT_STANZAS = 16
MAX_HEADER_BYTES = 64 * 1024  # Sixteen of the largest (post-quantum) stanzas fit easily.
# X25519 writes 2 lines; ML-KEM-768 + X25519 (post-quantum) about 25; grease stanzas a few.
MAX_STANZA_LINES = 64
_READ = 4096
_STANZA = b"\n-> "
_MAC = b"\n---"


def read_header(source: BinaryIO, start: bytes) -> bytes:
    """Return the bytes read through the header's MAC line (perhaps a little beyond)."""
    data = bytearray(start)
    while True:
        mac = data.find(_MAC)
        header = data if mac < 0 else data[:mac]
        stanzas = header.count(_STANZA)
        if stanzas > MAX_RECIPIENT_STANZAS:
            raise InvalidBundle(
                f"step 1: the age header has more than {MAX_RECIPIENT_STANZAS} recipient "
                "stanzas; a bundle is encrypted to one school"
            )
        if max(part.count(b"\n") for part in header.split(_STANZA)) > MAX_STANZA_LINES:
            raise InvalidBundle(
                f"step 1: an age header stanza is longer than {MAX_STANZA_LINES} lines"
            )
        if mac >= 0 and data.find(b"\n", mac + 1) >= 0:
            break
        if len(data) > MAX_HEADER_BYTES:
            raise InvalidBundle(f"step 1: the age header is longer than {MAX_HEADER_BYTES} bytes")
        chunk = source.read(_READ)
        if not chunk:
            raise InvalidBundle("step 1: the bundle ends inside its age header")
        data += chunk
    if stanzas == 0:
        raise InvalidBundle("step 1: the age header has no recipient stanza")
    return bytes(data)
