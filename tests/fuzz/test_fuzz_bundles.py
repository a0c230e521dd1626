"""Fuzz bundle opening before decryption (ciphertext) and after (the inner tar and manifest).

The property: InvalidBundle or a bundle whose files are exactly those signed; never another
exception; nothing left in the work folder after a refusal; nothing written outside it.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from bundle_kit import Entry, Parties, bundle, encrypt, good_files, manifest_for, tar_of
from fuzz_kit import bounded, clean, corpus_files, mutate, mutations
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import ExchangeError
from exchange.packaging import InvalidBundle
from exchange.packaging.bundle import Bundle, Expectations, Limits, verify_bundle

PARTIES = Parties()
GOOD = bundle(PARTIES)
SMALL = Limits(max_entries=64, max_file_bytes=1 << 20, max_total_bytes=4 << 20)
SEEDS = [GOOD, *corpus_files("bundle")]


def _plaintext(entries: list[Entry], manifest: dict[str, Any] | None = None) -> bytes:
    files = good_files()
    manifest_bytes = rfc8785.dumps(manifest or manifest_for(PARTIES, files))
    from exchange.packaging.jws import sign_compact
    from exchange.packaging.manifest import JWS_TYPE

    token = sign_compact(manifest_bytes, PARTIES.sender, JWS_TYPE)
    head = [Entry("manifest.json", manifest_bytes), Entry("manifest.jws", token.encode())]
    return tar_of(head + entries)


def _open(data: bytes, work: Path) -> Any:
    """Open the bundle in work and both ways; check the property; return the result."""
    work.mkdir(exist_ok=True)
    outside = sorted(work.parent.iterdir())

    def attempt() -> dict[str, bytes]:
        with Bundle.open(
            io.BytesIO(data),
            [PARTIES.recipient],
            [PARTIES.sender.public],
            PARTIES.recipient_urn,
            SMALL,
            work_dir=work,
        ) as opened:
            return {
                str(p.relative_to(opened.files_folder)): p.read_bytes()
                for p in opened.files_folder.rglob("*")
                if p.is_file()
            }

    result = clean(attempt)
    if isinstance(result, ExchangeError):
        assert isinstance(result, InvalidBundle), repr(result)
    else:
        listed = good_files()
        assert set(result) == set(listed)
        for name, content in result.items():
            assert hashlib.sha256(content).digest() == hashlib.sha256(listed[name]).digest()
    assert list(work.iterdir()) == [], "the work folder must be empty after close or refusal"
    assert sorted(work.parent.iterdir()) == outside, "nothing may be written beside it"
    expect = Expectations((PARTIES.recipient,), (PARTIES.sender.public,), PARTIES.recipient_urn)
    verified = clean(lambda: verify_bundle(io.BytesIO(data), expect, SMALL))
    assert isinstance(verified, ExchangeError) == isinstance(result, ExchangeError)
    return result


def test_the_good_bundle_opens(tmp_path: Path) -> None:
    assert not isinstance(_open(GOOD, tmp_path / "work"), ExchangeError)


@bounded(150)
@given(seed=st.sampled_from(SEEDS), ops=mutations())
def test_mutated_ciphertext(
    tmp_path_factory: pytest.TempPathFactory, seed: bytes, ops: list[tuple[int, int, int, int]]
) -> None:
    _open(mutate(seed, ops), tmp_path_factory.mktemp("b") / "work")


@bounded(50)
@given(data=st.binary(max_size=4096))
def test_random_ciphertext(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    result = _open(data, tmp_path_factory.mktemp("b") / "work")
    assert isinstance(result, InvalidBundle)


PLAIN = _plaintext([Entry(name, data) for name, data in good_files().items()])


@bounded(150)
@given(ops=mutations())
def test_mutated_inner_tar(tmp_path_factory: pytest.TempPathFactory, ops: Any) -> None:
    _open(encrypt(mutate(PLAIN, ops), PARTIES.recipient), tmp_path_factory.mktemp("b") / "work")


hostile_names = st.sampled_from(
    [
        "../escape.pdf",
        "/etc/passwd",
        "vault/../../escape.pdf",
        "vault//0001.pdf",
        "./chronology.json",
        "vault/0001.pdf",
        "chronology.json",
        "C:\\\\evil.pdf",
        "vault/\u0000.pdf",
        "a" * 99,
        "vault/",
        "",
    ]
) | st.text(min_size=1, max_size=40)
entry_types = st.sampled_from(
    [tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE, tarfile.FIFOTYPE, b"7"]
)


@st.composite
def hostile_entries(draw: st.DrawFn) -> list[Entry]:
    entries = [Entry(name, data) for name, data in good_files().items()]
    for _ in range(draw(st.integers(1, 4))):
        entry = Entry(
            name=draw(hostile_names),
            data=draw(st.binary(max_size=64)),
            type=draw(entry_types),
            linkname=draw(st.sampled_from(["", "../../etc/passwd", "/tmp", "vault/0001.pdf"])),
            declared_size=draw(st.none() | st.integers(0, 10**9)),
        )
        entries.insert(draw(st.integers(0, len(entries))), entry)
    if draw(st.booleans()):
        del entries[draw(st.integers(0, len(entries) - 1))]
    return entries


@bounded(200)
@given(entries=hostile_entries())
def test_hostile_entries(tmp_path_factory: pytest.TempPathFactory, entries: list[Entry]) -> None:
    try:
        plain = _plaintext(entries)
    except (ValueError, UnicodeEncodeError):
        return  # tarfile cannot write that header; our parser never sees it.
    _open(encrypt(plain, PARTIES.recipient), tmp_path_factory.mktemp("b") / "work")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
MANIFEST_KEYS = sorted(manifest_for(PARTIES, good_files()))


@bounded(200)
@given(
    changes=st.dictionaries(st.sampled_from([*MANIFEST_KEYS, "extra"]), json_values, max_size=3),
    dropped=st.sets(st.sampled_from(MANIFEST_KEYS), max_size=2),
)
def test_signed_hostile_manifest(
    tmp_path_factory: pytest.TempPathFactory, changes: dict[str, Any], dropped: set[str]
) -> None:
    manifest = manifest_for(PARTIES, good_files()) | changes
    for key in dropped:
        manifest.pop(key, None)
    entries = [Entry(name, data) for name, data in good_files().items()]
    data = encrypt(_plaintext(entries, manifest), PARTIES.recipient)
    _open(data, tmp_path_factory.mktemp("b") / "work")
