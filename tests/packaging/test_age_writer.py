"""Our age writer, checked by two readers we did not write: Go's `age -d` and pyrage (Rust)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pyrage
import pytest
from bundle_kit import Parties, tool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.errors import ValidationError
from exchange.packaging import age_format
from exchange.packaging.age_format import CHUNK_SIZE, PayloadSealer
from exchange.packaging.age_pipeline import CHUNKS_PER_SEGMENT, encrypt_to_recipient

SEGMENT = CHUNK_SIZE * CHUNKS_PER_SEGMENT
BOUNDARY_SIZES = [
    0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE,
    SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 5, 4 * SEGMENT,
]  # fmt: skip


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _encrypt(parties: Parties, pieces: Iterator[bytes]) -> tuple[bytes, str, int]:
    out = io.BytesIO()
    digest, size = encrypt_to_recipient(parties.recipient.public.raw, pieces, out)
    return out.getvalue(), digest, size


@pytest.mark.parametrize("length", BOUNDARY_SIZES)
def test_age_cli_decrypts_every_chunk_boundary(
    length: int, parties: Parties, tmp_path: Path
) -> None:
    """`age -d` (Go) returns exactly the plaintext, whatever the length."""
    age = tool("age")
    identity = tmp_path / "identity.txt"
    identity.write_text(parties.recipient.identity_string() + "\n")
    plaintext = os.urandom(length)
    ciphertext, digest, size = _encrypt(parties, _pieces(plaintext, 100_003))
    result = subprocess.run(
        [age, "-d", "-i", str(identity)], input=ciphertext, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == plaintext
    assert size == len(ciphertext)
    assert digest == hashlib.sha256(ciphertext).hexdigest()


@settings(
    max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(
    length=st.sampled_from(BOUNDARY_SIZES) | st.integers(0, 3 * SEGMENT),
    piece=st.integers(1, 3 * CHUNK_SIZE),
)
def test_pyrage_decrypts_any_split_of_the_input(parties: Parties, length: int, piece: int) -> None:
    """However the input arrives, pyrage (Rust) decrypts it back byte for byte."""
    plaintext = os.urandom(length)
    ciphertext, _, _ = _encrypt(parties, _pieces(plaintext, piece))
    assert pyrage.decrypt(ciphertext, [parties.recipient.to_pyrage()]) == plaintext


def test_only_the_recipient_can_decrypt(parties: Parties) -> None:
    """Another school's identity cannot open the file."""
    ciphertext, _, _ = _encrypt(parties, iter([b"for the receiving school only"]))
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(ciphertext, [parties.other_recipient.to_pyrage()])


def test_header_has_one_x25519_stanza_and_a_mac(parties: Parties) -> None:
    """The header is the age v1 text header: version, one X25519 stanza, MAC line."""
    ciphertext, _, _ = _encrypt(parties, iter([b"x"]))
    lines = ciphertext.split(b"\n")
    assert lines[0] == b"age-encryption.org/v1"
    kind, share = lines[1].split(b" ")[1:]
    assert kind == b"X25519"
    assert len(base64.b64decode(share + b"=")) == 32
    assert len(base64.b64decode(lines[2] + b"=")) == 32  # 16-byte file key + 16-byte tag
    assert lines[3].startswith(b"--- ")
    assert len(base64.b64decode(lines[3][4:] + b"=")) == 32


def test_each_file_gets_fresh_keys(parties: Parties) -> None:
    """Two encryptions of the same bytes share no header or payload bytes."""
    first, _, _ = _encrypt(parties, iter([b"same"]))
    second, _, _ = _encrypt(parties, iter([b"same"]))
    assert first.split(b"\n")[1] != second.split(b"\n")[1]
    assert first[-32:] != second[-32:]


@pytest.mark.parametrize(
    ("length", "widths"), [(0, [0]), (32, [43]), (47, [63]), (48, [64, 0]), (49, [64, 2])]
)
def test_stanza_body_lines_end_short(length: int, widths: list[int]) -> None:
    """A body is wrapped at 64 columns and its last line is shorter than 64, even empty."""
    text = age_format._body_lines(bytes(length))
    assert text.endswith(b"\n")
    assert [len(line) for line in text[:-1].split(b"\n")] == widths


def test_a_low_order_recipient_key_is_refused() -> None:
    """An all-zero X25519 key would give an all-zero secret; it is refused."""
    with pytest.raises(ValidationError, match="not usable"):
        encrypt_to_recipient(bytes(32), iter([b"x"]), io.BytesIO())


def test_the_sealer_keeps_the_stream_rules() -> None:
    """Short chunks only at the end, nothing after the end, no empty end after data."""
    sealer = PayloadSealer(bytes(16), bytes(16))
    with pytest.raises(ValueError, match="only the last"):
        sealer.seal(b"short", last=False)
    sealer.seal(bytes(CHUNK_SIZE), last=False)
    with pytest.raises(ValueError, match="empty only when"):
        sealer.seal(b"", last=True)
    sealer.seal(b"end", last=True)
    with pytest.raises(ValueError, match="already finished"):
        sealer.seal(b"more", last=True)


class _Boom(Exception):
    pass


def _failing_after(count: int) -> Iterator[bytes]:
    for _ in range(count):
        yield bytes(CHUNK_SIZE * 5)
    raise _Boom("the vault file changed")


class _BrokenOutput(io.RawIOBase):
    def __init__(self, after: int) -> None:
        self.left = after

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.left -= len(data)
        if self.left < 0:
            raise OSError("disk full")
        return len(data)


@pytest.mark.parametrize("count", [0, 1, 20])
def test_an_input_error_reaches_the_caller_and_stops_every_thread(
    parties: Parties, count: int
) -> None:
    """An error while reading is raised to the caller; no pipeline thread is left running."""
    with pytest.raises(_Boom):
        encrypt_to_recipient(parties.recipient.public.raw, _failing_after(count), io.BytesIO())
    assert not [t for t in threading.enumerate() if t.name.startswith("age-")]


def test_an_output_error_reaches_the_caller_and_stops_every_thread(parties: Parties) -> None:
    """A failing write (disk full) is raised to the caller; the reader stops too."""
    endless = iter(lambda: bytes(SEGMENT), None)
    with pytest.raises(OSError, match="disk full"):
        encrypt_to_recipient(parties.recipient.public.raw, endless, _BrokenOutput(3 * SEGMENT))
    assert not [t for t in threading.enumerate() if t.name.startswith("age-")]


class _Trickle(io.RawIOBase):
    """A raw file that takes at most 1000 bytes per write, as raw files may."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        taken = bytes(data[:1000])
        self.data += taken
        return len(taken)


def test_a_partial_writer_still_gets_every_byte(parties: Parties) -> None:
    """Short writes are retried until the output has taken the whole ciphertext."""
    plaintext = os.urandom(3 * SEGMENT + 17)
    out = _Trickle()
    digest, size = encrypt_to_recipient(parties.recipient.public.raw, iter([plaintext]), out)
    assert size == len(out.data)
    assert digest == hashlib.sha256(out.data).hexdigest()
    assert pyrage.decrypt(bytes(out.data), [parties.recipient.to_pyrage()]) == plaintext


@pytest.mark.parametrize("kept_chunks", [0, 1, 16, 17])
def test_cutting_our_output_at_a_chunk_boundary_is_detected(
    parties: Parties, kept_chunks: int, tmp_path: Path
) -> None:
    """Only the real last chunk is flagged last, so a clean cut between chunks is refused."""
    ciphertext, _, _ = _encrypt(parties, iter([os.urandom(2 * SEGMENT + 5)]))
    header_end = ciphertext.index(b"\n---") + 1
    header_end = ciphertext.index(b"\n", header_end) + 1 + 16  # the MAC line, then the nonce
    assert len(ciphertext) == header_end + 32 * (CHUNK_SIZE + 16) + 5 + 16
    cut = ciphertext[: header_end + kept_chunks * (CHUNK_SIZE + 16)]
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(cut, [parties.recipient.to_pyrage()])
    identity = tmp_path / "identity.txt"
    identity.write_text(parties.recipient.identity_string() + "\n")
    result = subprocess.run(
        [tool("age"), "-d", "-i", str(identity)], input=cut, capture_output=True, check=False
    )
    assert result.returncode != 0


def test_the_file_key_is_not_in_the_sealer_repr() -> None:
    """A logged or printed sealer shows no key material."""
    key = bytes(range(16))
    shown = repr(PayloadSealer(key, bytes(16)))
    assert key.hex() not in shown
    assert repr(key) not in shown
