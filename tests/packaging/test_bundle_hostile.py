"""A corpus of hostile bundles: each is rejected with a precise message, leaving nothing."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import rfc8785
from bundle_kit import (
    Entry,
    Parties,
    bundle,
    encrypt,
    good_files,
    manifest_for,
    nested_json,
    tar_of,
    with_fake_stanzas,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.jws import b64url
from exchange.packaging import InvalidBundle
from exchange.packaging.age_header import MAX_RECIPIENT_STANZAS
from exchange.packaging.bundle import Bundle, Expectations, Limits, verify_bundle
from exchange.packaging.jws import sign_compact
from exchange.packaging.keys import EncryptionKey
from exchange.packaging.manifest import JWS_TYPE


def _open(data: bytes, parties: Parties, limits: Limits | None = None) -> None:
    with Bundle.from_bytes(
        data, [parties.recipient], [parties.sender.public], parties.recipient_urn, limits
    ):
        pass


def _files_with(name: str, data: bytes) -> dict[str, bytes]:
    files = good_files()
    files[name] = data
    return files


def _listed_but(parties: Parties, entries: list[Entry]) -> bytes:
    """Return a bundle whose manifest lists the good files but whose archive holds entries."""
    return bundle(parties, entries=entries)


def _good_entries() -> list[Entry]:
    return [Entry(name, data) for name, data in good_files().items()]


def _traversal_listed(p: Parties) -> bytes:
    return bundle(p, files=_files_with("../evil.pdf", b"x"))


def _traversal_unlisted(p: Parties) -> bytes:
    return _listed_but(p, [*_good_entries(), Entry("../../etc/cron.d/evil", b"x")])


def _absolute(p: Parties) -> bytes:
    return _listed_but(p, [*_good_entries(), Entry("/etc/passwd", b"x")])


def _absolute_listed(p: Parties) -> bytes:
    return bundle(p, files=_files_with("/tmp/evil.pdf", b"x"))


def _symlink(p: Parties) -> bytes:
    link = Entry("vault/0002.pdf", type=tarfile.SYMTYPE, linkname="/etc/passwd")
    return _listed_but(p, [*_good_entries(), link])


def _hardlink(p: Parties) -> bytes:
    link = Entry("vault/0002.pdf", type=tarfile.LNKTYPE, linkname="chronology.pdf")
    return _listed_but(p, [*_good_entries(), link])


def _directory(p: Parties) -> bytes:
    return _listed_but(p, [Entry("vault", type=tarfile.DIRTYPE), *_good_entries()])


def _duplicate(p: Parties) -> bytes:
    return _listed_but(
        p, [*_good_entries(), Entry("vault/0001.pdf", good_files()["vault/0001.pdf"])]
    )


def _case_collision(p: Parties) -> bytes:
    return _listed_but(p, [*_good_entries(), Entry("VAULT/0001.pdf", b"other")])


def _case_collision_listed(p: Parties) -> bytes:
    return bundle(p, files=_files_with("Vault/0001.PDF", b"x"))


def _duplicate_listed(p: Parties) -> bytes:
    files = good_files()
    manifest = manifest_for(p, files)
    manifest["files"].append(dict(manifest["files"][-1]))
    manifest["file_count"] += 1
    return bundle(p, manifest=manifest)


def _not_in_manifest(p: Parties) -> bytes:
    return _listed_but(p, [*_good_entries(), Entry("vault/0099.pdf", b"smuggled")])


def _missing(p: Parties) -> bytes:
    return _listed_but(p, _good_entries()[:-1])


def _changed_file(p: Parties) -> bytes:
    entries = _good_entries()
    data = bytearray(entries[-1].data)
    data[10] ^= 1
    entries[-1] = Entry(entries[-1].name, bytes(data))
    return _listed_but(p, entries)


def _longer_file(p: Parties) -> bytes:
    entries = _good_entries()
    entries[-1] = Entry(entries[-1].name, entries[-1].data + b"more")
    return _listed_but(p, entries)


def _changed_manifest(p: Parties) -> bytes:
    files = good_files()
    honest = rfc8785.dumps(manifest_for(p, files))
    jws = sign_compact(honest, p.sender, JWS_TYPE)
    forged = rfc8785.dumps(manifest_for(p, files, pupil_ref="forged"))
    head = [Entry("manifest.json", forged), Entry("manifest.jws", jws.encode())]
    return encrypt(tar_of(head + _good_entries()), p.recipient)


def _payload_swapped(p: Parties) -> bytes:
    files = good_files()
    honest = rfc8785.dumps(manifest_for(p, files))
    jws = sign_compact(honest, p.sender, JWS_TYPE)
    header, _, signature = jws.split(".")
    forged = rfc8785.dumps(manifest_for(p, files, pupil_ref="forged"))

    token = f"{header}.{b64url(forged)}.{signature}"
    head = [Entry("manifest.json", forged), Entry("manifest.jws", token.encode())]
    return encrypt(tar_of(head + _good_entries()), p.recipient)


def _other_school_signs(p: Parties) -> bytes:
    files = good_files()
    manifest = manifest_for(p, files)
    manifest["sender"]["signing_key_id"] = p.other_signer.key_id
    return bundle(p, manifest=manifest, signer=p.other_signer)


def _other_school_claims_our_kid(p: Parties) -> bytes:
    files = good_files()
    raw = rfc8785.dumps(manifest_for(p, files))
    jws = sign_compact(raw, p.sender, JWS_TYPE)
    header, payload, _ = jws.split(".")
    forged = p.other_signer.sign(f"{header}.{payload}".encode())

    token = f"{header}.{payload}.{b64url(forged)}"
    head = [Entry("manifest.json", raw), Entry("manifest.jws", token.encode())]
    return encrypt(tar_of(head + _good_entries()), p.recipient)


def _other_recipient_key(p: Parties) -> bytes:
    return bundle(p, encrypt_to=p.other_recipient)


def _other_recipient_in_manifest(p: Parties) -> bytes:
    manifest = manifest_for(p, good_files())
    manifest["recipient"]["encryption_key_id"] = p.other_recipient.key_id
    return bundle(p, manifest=manifest)


def _other_recipient_urn(p: Parties) -> bytes:
    manifest = manifest_for(p, good_files())
    manifest["recipient"]["urn"] = "900003"
    return bundle(p, manifest=manifest)


def _unknown_version(p: Parties) -> bytes:
    return bundle(p, manifest=manifest_for(p, good_files(), version=2))


def _wrong_count(p: Parties) -> bytes:
    return bundle(p, manifest=manifest_for(p, good_files(), file_count=3))


def _required_missing(p: Parties) -> bytes:
    files = good_files()
    del files["conversation.json"]
    return bundle(p, files=files)


def _manifest_not_first(p: Parties) -> bytes:
    files = good_files()
    raw = rfc8785.dumps(manifest_for(p, files))
    jws = sign_compact(raw, p.sender, JWS_TYPE)
    entries = [*_good_entries(), Entry("manifest.json", raw), Entry("manifest.jws", jws.encode())]
    return encrypt(tar_of(entries), p.recipient)


def _gzip_bomb(p: Parties) -> bytes:
    inner = tar_of([Entry("zeros", bytes(20 * 1024 * 1024))])
    return encrypt(gzip.compress(inner, compresslevel=9), p.recipient)


def _declared_huge(p: Parties) -> bytes:
    files = _files_with("vault/0002.pdf", b"")
    manifest = manifest_for(p, files)
    manifest["files"][-1]["size"] = 8 * 1024**3
    return bundle(p, manifest=manifest)


def _header_lies_size(p: Parties) -> bytes:
    entries = _good_entries()
    entries[-1] = Entry(entries[-1].name, entries[-1].data, declared_size=10**9)
    return _listed_but(p, entries)


def _sparse(p: Parties) -> bytes:
    return _listed_but(p, [*_good_entries(), Entry("vault/0002.pdf", type=tarfile.GNUTYPE_SPARSE)])


def _pax(p: Parties) -> bytes:
    return _listed_but(p, [Entry("pax", b"30 path=vault/0001.pdf\n", type=tarfile.XHDTYPE)])


def _garbage_after_end(p: Parties) -> bytes:
    files = good_files()
    raw = rfc8785.dumps(manifest_for(p, files))
    jws = sign_compact(raw, p.sender, JWS_TYPE)
    head = [Entry("manifest.json", raw), Entry("manifest.jws", jws.encode())]
    return encrypt(tar_of(head + _good_entries()) + b"trailing", p.recipient)


def _no_end_marker(p: Parties) -> bytes:
    files = good_files()
    raw = rfc8785.dumps(manifest_for(p, files))
    jws = sign_compact(raw, p.sender, JWS_TYPE)
    head = [Entry("manifest.json", raw), Entry("manifest.jws", jws.encode())]
    return encrypt(tar_of(head + _good_entries())[:-1024], p.recipient)


def _not_age(p: Parties) -> bytes:
    return b"PK\x03\x04 this is a zip, not a bundle"


def _empty(p: Parties) -> bytes:
    return b""


def _truncated(p: Parties) -> bytes:
    data = bundle(p, files=_files_with("vault/0002.pdf", bytes(200_000)))
    return data[: len(data) - 1000]


def _truncated_at_chunk(p: Parties) -> bytes:
    data = bundle(p, files=_files_with("vault/0002.pdf", bytes(200_000)))
    header_end = data.index(b"\n---") + data[data.index(b"\n---") + 1 :].index(b"\n") + 2
    return data[: header_end + 16 + 65536 + 16]  # Nonce plus exactly one whole chunk.


def _stanza_flood(p: Parties) -> bytes:
    return with_fake_stanzas(bundle(p), 50_000)


def _stanzas(count: int, p: Parties) -> bytes:
    """Return a real bundle whose age header holds count stanzas (rage adds one grease)."""
    others = tuple(EncryptionKey.generate() for _ in range(count - 2))
    data = bundle(p, also_to=others)
    assert data[: data.index(b"\n---")].count(b"\n-> ") == count
    return data


def _one_stanza_too_many(p: Parties) -> bytes:
    return _stanzas(MAX_RECIPIENT_STANZAS + 1, p)


def _long_stanza(p: Parties) -> bytes:
    """Return a bundle with a stanza for nobody of 800 body lines (the age crate's square)."""
    data = bundle(p)
    version_end = data.index(b"\n") + 1
    stanza = b"-> X25519 " + b"A" * 43 + b"\n" + (b"B" * 64 + b"\n") * 800 + b"C\n"
    return data[:version_end] + stanza + data[version_end:]


def _nested_jws_header(p: Parties) -> bytes:
    files = good_files()
    header = b64url(f'{{"alg":"Ed25519","x":{nested_json(5000)}}}'.encode())
    manifest_bytes = rfc8785.dumps(manifest_for(p, files))
    token = f"{header}.{b64url(manifest_bytes)}.{b64url(bytes(64))}"
    head = [Entry("manifest.json", manifest_bytes), Entry("manifest.jws", token.encode())]
    return encrypt(tar_of(head + _good_entries()), p.recipient)


def _nested_manifest(p: Parties) -> bytes:
    honest = rfc8785.dumps(manifest_for(p, good_files())).decode()
    nested = honest.replace('"redaction":{', f'"deep":{nested_json(5000)},"redaction":{{', 1)
    return bundle(p, manifest_bytes=nested.encode())


def _file_and_folder(p: Parties) -> bytes:
    return bundle(p, files=_files_with("vault", b"a file named like the vault folder"))


def _file_and_folder_by_case(p: Parties) -> bytes:
    return bundle(p, files=_files_with("VAULT", b"x"))


CORPUS: dict[str, tuple[Callable[[Parties], bytes], str]] = {
    "50,000 recipient stanzas": (_stanza_flood, "step 1: the age header has more than 16 rec"),
    "17 recipient stanzas": (_one_stanza_too_many, "step 1: the age header has more than 16"),
    "a stanza of 800 lines": (_long_stanza, "step 1: an age header stanza is longer than 64"),
    "JWS header nested 5,000 deep": (
        _nested_jws_header,
        "step 5: the JWS header is refused: JSON document nests more than 64 levels deep",
    ),
    "manifest nested 5,000 deep": (
        _nested_manifest,
        "step 7: manifest.json is refused: JSON document nests more than 64 levels deep",
    ),
    "file and folder of the same name": (
        _file_and_folder,
        "step 9: manifest lists 'vault', which is neither a required file nor a vault/NNNN",
    ),
    "file and folder differing by case": (
        _file_and_folder_by_case,
        "step 9: manifest lists 'VAULT', which is neither a required file nor a vault/NNNN",
    ),
    "path traversal listed": (_traversal_listed, "step 9: manifest: entry '../evil.pdf' climbs"),
    "path traversal": (
        _traversal_unlisted,
        "step 10: archive: entry '../../etc/cron.d/evil' climbs",
    ),
    "absolute path": (_absolute, "entry '/etc/passwd' has an absolute path"),
    "absolute path listed": (
        _absolute_listed,
        "step 9: manifest: entry '/tmp/evil.pdf' has an abs",
    ),
    "symlink": (_symlink, "entry 7 ('vault/0002.pdf') is a symbolic link"),
    "hard link": (_hardlink, "is a hard link; only regular files"),
    "directory": (_directory, "entry 3 ('vault/') is a directory"),
    "duplicate": (_duplicate, "holds 'vault/0001.pdf' twice (duplicate)"),
    "duplicate listed": (_duplicate_listed, "manifest lists 'vault/0001.pdf' twice"),
    "case collision": (_case_collision, "'vault/0001.pdf' and 'VAULT/0001.pdf', which differ only"),
    "case collision listed": (_case_collision_listed, "lists 'Vault/0001.PDF', which is neither"),
    "entry not in manifest": (_not_in_manifest, "'vault/0099.pdf' is not listed in the manifest"),
    "manifest entry missing": (_missing, "lists 'vault/0001.pdf' but the archive does not hold"),
    "changed file": (_changed_file, "SHA-256 of vault/0001.pdf does not match the manifest"),
    "longer file": (_longer_file, "vault/0001.pdf declares 2104 bytes in the archive"),
    "changed manifest": (_changed_manifest, "step 6: manifest.json differs from the payload"),
    "payload swapped": (_payload_swapped, "step 5: the manifest signature does not verify"),
    "signed by another school": (_other_school_signs, "which is not a known signing key"),
    "forged with our kid": (_other_school_claims_our_kid, "signature does not verify with"),
    "for another recipient key": (_other_recipient_key, "not encrypted to any of our encryption"),
    "manifest names another key": (_other_recipient_in_manifest, "step 8: the bundle is for encr"),
    "manifest names another school": (_other_recipient_urn, "is for school 900003, not for us"),
    "unknown version": (_unknown_version, "step 7: manifest version 2 is not known"),
    "file count wrong": (_wrong_count, "manifest file_count 3 does not match the 4 files"),
    "required file missing": (_required_missing, "does not list the required file 'conversat"),
    "manifest not first": (_manifest_not_first, "step 4: entry 1 must be manifest.json"),
    "gzip tar bomb": (_gzip_bomb, "inner archive is gzip data"),
    "declared huge": (_declared_huge, "vault/0002.pdf is 8589934592 bytes, over the per-file cap"),
    "header lies about size": (_header_lies_size, "declares 1000000000 bytes in the archive"),
    "sparse": (_sparse, "is a GNU sparse file"),
    "pax header": (_pax, "is a pax extended header"),
    "data after end": (_garbage_after_end, "non-zero data follows the end of the archive"),
    "no end marker": (_no_end_marker, "ends without its end-of-archive marker"),
    "not age": (_not_age, "step 1: the bundle is not an age v1 file"),
    "empty file": (_empty, "step 1: the bundle is empty (0 bytes)"),
    "truncated ciphertext": (_truncated, "step 2: the bundle does not decrypt"),
    "truncated at a chunk boundary": (_truncated_at_chunk, "step 2: the bundle does not decrypt"),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_hostile_bundle_is_rejected(case: str, parties: Parties, scratch_tmp: Path) -> None:
    make, message = CORPUS[case]
    data = make(parties)
    with pytest.raises(InvalidBundle) as caught:
        _open(data, parties)
    assert message in str(caught.value)
    assert list(scratch_tmp.iterdir()) == []


def test_sixteen_stanzas_still_open(parties: Parties) -> None:
    _open(_stanzas(MAX_RECIPIENT_STANZAS, parties), parties)


def test_a_stanza_flood_is_refused_before_any_key_work(parties: Parties) -> None:
    data = with_fake_stanzas(bundle(parties), 50_000)
    expect = Expectations((parties.recipient,), (parties.sender.public,))
    source = io.BytesIO(data)
    with pytest.raises(InvalidBundle, match="step 1: the age header has more than 16"):
        verify_bundle(source, expect)
    # Refused from the first few KiB of a 5 MB header: nothing past them was read or tried.
    assert source.tell() <= 8 * 1024 < len(data) // 500


def test_too_many_entries(parties: Parties, scratch_tmp: Path) -> None:
    files = good_files()
    files.update({f"vault/{n:04d}.pdf": b"x" for n in range(2, 60)})
    data = bundle(parties, files=files)
    with pytest.raises(InvalidBundle, match="step 9: the manifest lists 62 files; the cap is 48"):
        _open(data, parties, Limits(max_entries=50))
    entries = [*_good_entries(), *(Entry(f"x{n}", b"") for n in range(20_000))]
    with pytest.raises(InvalidBundle, match="archive entry 'x0' is not listed in the manifest"):
        _open(_listed_but(parties, entries), parties)
    assert list(scratch_tmp.iterdir()) == []


def test_size_and_ratio_caps_count_real_bytes(parties: Parties, scratch_tmp: Path) -> None:
    data = bundle(parties, files=_files_with("vault/0002.pdf", bytes(300_000)))
    with pytest.raises(InvalidBundle, match="over the per-file cap of 100000"):
        _open(data, parties, Limits(max_file_bytes=100_000))
    with pytest.raises(InvalidBundle, match="step 9: the files total"):
        _open(data, parties, Limits(max_total_bytes=200_000))
    with pytest.raises(InvalidBundle, match=r"exceeds the expansion ratio cap of 0\.5"):
        _open(data, parties, Limits(max_ratio=0.5))
    assert list(scratch_tmp.iterdir()) == []


@pytest.fixture(scope="module")
def small_bundle(parties: Parties) -> bytes:
    """Return one small valid bundle to flip bytes in."""
    return bundle(parties)


def test_small_bundle_is_valid(small_bundle: bytes, parties: Parties) -> None:
    _open(small_bundle, parties)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_rejected(
    small_bundle: bytes, parties: Parties, position: int, bit: int, tmp_path: Path
) -> None:
    data = bytearray(small_bundle)
    data[position % len(data)] ^= 1 << bit
    with pytest.raises(InvalidBundle):
        _open(bytes(data), parties)


def test_flip_in_every_region(small_bundle: bytes, parties: Parties, scratch_tmp: Path) -> None:
    for position in range(0, len(small_bundle), max(1, len(small_bundle) // 97)):
        data = bytearray(small_bundle)
        data[position] ^= 0x01
        with pytest.raises(InvalidBundle):
            _open(bytes(data), parties)
    assert list(scratch_tmp.iterdir()) == []


def test_manifest_hash_of_listed_file_is_what_is_checked(parties: Parties) -> None:
    files = good_files()
    manifest = manifest_for(parties, files)
    manifest["files"][0]["sha256"] = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(InvalidBundle, match=r"SHA-256 of chronology\.json does not match"):
        _open(bundle(parties, manifest=manifest), parties)


def test_stream_source_is_accepted(parties: Parties) -> None:
    with Bundle.open(io.BytesIO(bundle(parties)), [parties.recipient], [parties.sender.public]):
        pass
