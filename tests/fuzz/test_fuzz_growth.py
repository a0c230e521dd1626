"""Time per input byte must not grow with the input: worst cases at size n and 8n, each parser.

Each case builds an input meant to be a worst case for one parser of untrusted bytes (deep
nesting, many stanzas, many members or entries, long lines and strings), at a base size and at
GROWTH times it, and runs the parser through the fuzz kit's property (a result or an
ExchangeError). The check is a ratio measured in the same test: CPU time per input byte at
the larger size may be at most FACTOR times that at the smaller. Linear work stays near 1,
a quadratic parser shows about GROWTH; FACTOR sits well between, for noise. Each time is the
best of RUNS on `time.process_time` with the garbage collector paused (its cost follows the
size of the whole test process, not the input), so other processes and other tests count for
little. A ratio over FACTOR is measured again, up to ATTEMPTS times, and fails only if every
attempt is over: a super-linear parser is over every time, a noisy moment is not. It is not an
absolute timing: nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import base64
import gc
import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from bundle_kit import (
    Entry,
    Parties,
    bundle,
    encrypt,
    good_files,
    manifest_for,
    tar_of,
    with_fake_stanzas,
)
from fuzz_kit import clean

from exchange import jws
from exchange.packaging.bundle import Expectations, Limits, verify_bundle
from exchange.packaging.keys import EncryptionKey, SigningKey
from exchange.partners.card import SchoolCard
from exchange.receipts.evidence import verify_pack
from exchange.receipts.receipt import Receipt
from exchange.records.ctf import parse_ctf
from exchange.records.import_errors import Problems
from exchange.records.import_example import example_export
from exchange.records.import_load import load_records
from exchange.records.import_source import Limits as ImportLimits
from exchange.records.import_source import open_export
from exchange.safe_json import loads_bounded
from exchange.transfers.messages import COUNTERSIGNATURE, RECEIPT

GROWTH = 8
FACTOR = 3.0
RUNS = 3
ATTEMPTS = 3
MIN_SECONDS = 0.02  # A smaller case is repeated until one run takes at least this long.

PARTIES = Parties()
EXPECT = Expectations((PARTIES.recipient,), (PARTIES.sender.public,), PARTIES.recipient_urn)
KEY = SigningKey.generate()
OTHER_KEY = SigningKey.generate()
TODAY = date(2025, 7, 1)


@dataclass(frozen=True)
class Case:
    """One worst case: build(k) returns (input, the bytes the parser reads); run parses it."""

    name: str
    build: Callable[[int, Path], tuple[Any, int]]
    run: Callable[[Any], object]
    base: int


def _cpu(run: Callable[[Any], object], data: Any, repeat: int) -> float:
    """Return the best of RUNS CPU times of `repeat` calls, checking the fuzz property."""
    best = float("inf")
    for _ in range(RUNS):
        gc.collect()
        gc.disable()
        try:
            started = time.process_time()
            for _ in range(repeat):
                clean(lambda: run(data), seconds=120)
            best = min(best, time.process_time() - started)
        finally:
            gc.enable()
    return best


def _repeats(run: Callable[[Any], object], data: Any) -> int:
    """Return how many calls make one timed run of the smaller input long enough to measure."""
    started = time.process_time()
    clean(lambda: run(data), seconds=120)
    once = max(time.process_time() - started, 1e-6)
    return max(1, min(1000, round(MIN_SECONDS / once)))


def assert_linear(case: Case, folder: Path) -> None:
    """Fail if the CPU time per byte at GROWTH x the base size exceeds FACTOR x the base's."""
    small, small_bytes = case.build(case.base, folder / "small")
    large, large_bytes = case.build(case.base * GROWTH, folder / "large")
    ratios = []
    for _ in range(ATTEMPTS):
        repeat = _repeats(case.run, small)
        small_cost = _cpu(case.run, small, repeat) / small_bytes
        large_cost = _cpu(case.run, large, repeat) / large_bytes
        ratios.append(large_cost / small_cost)
        if ratios[-1] <= FACTOR:
            return
    measured = ", ".join(f"{ratio:.1f}x" for ratio in ratios)
    raise AssertionError(
        f"{case.name}: CPU time per byte grew {measured} from {small_bytes:,} to "
        f"{large_bytes:,} bytes (allowed {FACTOR}x): super-linear work on hostile input"
    )


# Bundles, before decryption: the age header.


def _verify(data: bytes) -> object:
    return verify_bundle(io.BytesIO(data), EXPECT, Limits())


GOOD_BUNDLE = bundle(PARTIES)
# A malformed header is refused before the rest is read: what counts is the header's size.
HEADER_BYTES = GOOD_BUNDLE.index(b"\n", GOOD_BUNDLE.index(b"\n---") + 1) + 1


def _many_stanzas(count: int, _folder: Path) -> tuple[bytes, int]:
    data = with_fake_stanzas(GOOD_BUNDLE, count)
    return data, len(data) - len(GOOD_BUNDLE) + HEADER_BYTES


def _long_stanza(lines: int, _folder: Path) -> tuple[bytes, int]:
    # One stanza for nobody whose body runs to many full 64-column lines.
    version_end = GOOD_BUNDLE.index(b"\n") + 1
    stanza = b"-> X25519 " + b"A" * 43 + b"\n" + (b"B" * 64 + b"\n") * lines + b"C\n"
    data = GOOD_BUNDLE[:version_end] + stanza + GOOD_BUNDLE[version_end:]
    return data, len(stanza) + HEADER_BYTES


def _long_stanza_line(kib: int, _folder: Path) -> tuple[bytes, int]:
    # One stanza for nobody with one very long line of arguments.
    version_end = GOOD_BUNDLE.index(b"\n") + 1
    stanza = b"-> X25519 " + b"A" * (1024 * kib) + b"\nB\n"
    data = GOOD_BUNDLE[:version_end] + stanza + GOOD_BUNDLE[version_end:]
    return data, len(stanza) + HEADER_BYTES


def _random_body(kib: int, _folder: Path) -> tuple[bytes, int]:
    header_end = GOOD_BUNDLE.index(b"\n---") + 1
    header_end = GOOD_BUNDLE.index(b"\n", header_end) + 1
    data = GOOD_BUNDLE[:header_end] + bytes(range(256)) * (4 * kib)
    return data, len(data)


# Bundles, after decryption: the tar and the manifest.


def _bundle_of(files: dict[str, bytes]) -> bytes:
    return bundle(PARTIES, files=good_files() | files)


def _large_file(kib: int, _folder: Path) -> tuple[bytes, int]:
    data = _bundle_of({"vault/0002.pdf": b"%PDF-1.7\n" + b"x" * (1024 * kib)})
    return data, len(data)


def _many_members(count: int, _folder: Path) -> tuple[bytes, int]:
    data = _bundle_of({f"vault/{index:05d}.txt": b"x" for index in range(count)})
    return data, len(data)


def _unsigned_members(count: int, _folder: Path) -> tuple[bytes, int]:
    # Members the manifest does not list, after the signed ones: refused, but only at the end?
    files = good_files()
    manifest = rfc8785.dumps(manifest_for(PARTIES, files))
    from exchange.packaging.jws import sign_compact
    from exchange.packaging.manifest import JWS_TYPE

    token = sign_compact(manifest, PARTIES.sender, JWS_TYPE).encode()
    entries = [Entry("manifest.json", manifest), Entry("manifest.jws", token)]
    entries += [Entry(name, data) for name, data in files.items()]
    entries += [Entry(f"extra/{index:05d}", b"y") for index in range(count)]
    data = encrypt(tar_of(entries), PARTIES.recipient)
    return data, len(data)


# JWS and the messages built on it.


def _segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _token(header: bytes, payload: bytes) -> str:
    return ".".join([_segment(header), _segment(payload), _segment(b"\0" * 64)])


def _jws_many_keys(count: int, _folder: Path) -> tuple[str, int]:
    fields = {f"k{index}": index for index in range(count)}
    header = json.dumps({"alg": "EdDSA", "kid": KEY.key_id, "typ": RECEIPT, **fields}).encode()
    token = _token(header, b"{}")
    return token, len(token)


def _jws_deep(depth: int, _folder: Path) -> tuple[str, int]:
    header = b'{"alg":"EdDSA","x":' + b"[" * depth + b"]" * depth + b"}"
    token = _token(header, b"{}")
    return token, len(token)


def _jws_escapes(count: int, _folder: Path) -> tuple[str, int]:
    # Strings of escapes and unclosed quotes: the depth scanner's regular expression's worst.
    payload = b'{"a":"' + b'\\"' * count + b'","b":"' + b"\\\\" * count + b'"}'
    token = _token(b'{"alg":"EdDSA","kid":"k","typ":"x"}', payload)
    return token, len(token)


def _verify_jws(token: str) -> object:
    return jws.verify(token, {KEY.key_id: KEY.public}, RECEIPT)


def _message_payload(count: int, _folder: Path) -> tuple[str, int]:
    payload = {"iss": "900001", "aud": "900002", "v": 1, "items": list(range(count))}
    token = jws.sign(payload, KEY, RECEIPT)
    return token, len(token)


# Partner cards and receipts: JSON from outside.


def _card(count: int, _folder: Path) -> tuple[bytes, int]:
    encryption = EncryptionKey.generate()
    card = {
        "format": "safeguarding-exchange.school-card",
        "version": 1,
        "urn": "900001",
        "laestab": "8012001",
        "name": "N" * count,
        "service_url": "https://a.example.test",
        "signing_key": {"ed25519": base64.b64encode(KEY.public.raw).decode(), "key_id": KEY.key_id},
        "encryption_key": {
            "age_recipient": encryption.public.recipient,
            "key_id": encryption.key_id,
        },
        **{f"x{index}": [index] for index in range(count)},
    }
    data = json.dumps(card).encode()
    return data, len(data)


def _read_card(data: bytes) -> object:
    return SchoolCard.from_json(loads_bounded(data))


def _receipt_payload(missing: int) -> dict[str, Any]:
    return {
        "transfer_id": "tr-growth-1",
        "offer_sha256": "0" * 64,
        "ciphertext_sha256": "1" * 64,
        "manifest_sha256": "2" * 64,
        "file_count": missing + 1,
        "disposition": "incomplete",
        "missing": [f"vault/{index:05d}.pdf" for index in range(missing)],
        "reason": "r" * missing,
        "received_at": "2025-07-01T10:00:00Z",
        "signing_key_id": KEY.key_id,
        "checkpoint": None,
        "iss": "900002",
        "aud": "900001",
    }


def _receipt(missing: int, _folder: Path) -> tuple[bytes, int]:
    data = json.dumps(_receipt_payload(missing)).encode()
    return data, len(data)


def _read_receipt(data: bytes) -> object:
    return Receipt.from_payload(loads_bounded(data))


def _pack(missing: int, folder: Path) -> tuple[Path, int]:
    receipt_jws = jws.sign(_receipt_payload(missing), KEY, RECEIPT)
    counter = {
        "receipt": receipt_jws,
        "receipt_sha256": __import__("hashlib").sha256(receipt_jws.encode()).hexdigest(),
        "transfer_id": "tr-growth-1",
        "verified": True,
        "iss": "900001",
        "aud": "900002",
        "iat": 1_751_365_860,
    }
    folder.mkdir(parents=True)
    (folder / "receipt.jws").write_text(receipt_jws + "\n")
    (folder / "countersignature.jws").write_text(
        jws.sign(counter, OTHER_KEY, COUNTERSIGNATURE) + "\n"
    )
    (folder / "receiver-signing.pem").write_bytes(KEY.public.to_pem())
    (folder / "sender-signing.pem").write_bytes(OTHER_KEY.public.to_pem())
    return folder, sum(path.stat().st_size for path in folder.iterdir())


# CTF (XML).

CTF_HEAD = b"<?xml version='1.0' encoding='UTF-8'?><CTfile><Header><DocumentName>CTF</DocumentName>"
CTF_HEADER_END = b"</Header><CTFpupilData>"


def _ctf_pupils(count: int, _folder: Path) -> tuple[bytes, int]:
    pupil = (
        b"<Pupil><UPN>V801200115001</UPN><Surname>Ashton</Surname><Forename>Arthur</Forename>"
        b"<DOB>2015-03-02</DOB><Sex>M</Sex></Pupil>"
    )
    data = CTF_HEAD + CTF_HEADER_END + pupil * count + b"</CTFpupilData></CTfile>"
    return data, len(data)


def _ctf_deep(depth: int, _folder: Path) -> tuple[bytes, int]:
    data = (
        CTF_HEAD + b"<a>" * depth + b"</a>" * depth + CTF_HEADER_END + b"</CTFpupilData></CTfile>"
    )
    return data, len(data)


def _ctf_long_line(kib: int, _folder: Path) -> tuple[bytes, int]:
    data = (
        CTF_HEAD
        + CTF_HEADER_END
        + b"<Pupil><Surname>"
        + b"&amp;x" * (170 * kib)
        + b"</Surname></Pupil></CTFpupilData></CTfile>"
    )
    return data, len(data)


def _read_ctf(data: bytes) -> object:
    return parse_ctf(data, TODAY)


# Records import: records.json, and the zip around it.


def _records_json(pupils: int, invalid: bool) -> bytes:
    builder = example_export()
    template = builder.records["pupils"][0]
    for index in range(pupils):
        pupil = dict(template, id=f"p-g{index}")
        if invalid:
            pupil["date_of_birth"] = "2015-13-45"
        builder.records["pupils"].append(pupil)
    return json.dumps(builder.records).encode()


def _records_valid(pupils: int, _folder: Path) -> tuple[bytes, int]:
    data = _records_json(pupils, invalid=False)
    return data, len(data)


def _records_invalid(pupils: int, _folder: Path) -> tuple[bytes, int]:
    data = _records_json(pupils, invalid=True)
    return data, len(data)


def _records_deep(depth: int, _folder: Path) -> tuple[bytes, int]:
    data = b'{"format":' + b"[" * depth + b"]" * depth + b"}"
    return data, len(data)


def _load_records(data: bytes) -> object:
    return load_records(data, Problems())


IMPORT_LIMITS = ImportLimits(
    max_file_bytes=1 << 20, max_files=100_000, max_total_bytes=1 << 30, max_records_bytes=1 << 26
)


def _zip_members(count: int, folder: Path) -> tuple[Path, int]:
    folder.mkdir(parents=True)
    path = folder / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("records.json", _records_json(1, invalid=False))
        for index in range(count):
            archive.writestr(f"files/{'d/' * 10}{index:05d}.txt", b"x")
    return path, path.stat().st_size


def _read_zip(path: Path) -> object:
    with open_export(path, IMPORT_LIMITS) as source:
        return source.read_records()


# PDFs for the redactor: many lines of names to find and cut, on many pages.


def _pdf_lines(lines: int, folder: Path) -> tuple[Path, int]:
    from reportlab.pdfgen import canvas

    folder.mkdir(parents=True)
    path = folder / "in.pdf"
    page = canvas.Canvas(str(path), pagesize=(612, 792), pageCompression=0)
    page.setFont("Helvetica", 10)
    for index in range(lines):
        if index and index % 60 == 0:
            page.showPage()
            page.setFont("Helvetica", 10)
        page.drawString(50, 760 - 12 * (index % 60), f"Line {index}: Ellery Quorn met Rowan Pike.")
    page.save()
    return path, path.stat().st_size


def _redact(path: Path) -> object:
    from exchange.redaction.pipeline import process_pdf
    from tests.redaction import corpus

    output = path.parent / "out" / "redacted.pdf"
    output.parent.mkdir(exist_ok=True)
    output.unlink(missing_ok=True)
    return process_pdf(path, output, corpus.PEOPLE, subject_id=corpus.SUBJECT.person_id)


CASES = [
    Case("bundle: recipient stanzas for nobody", _many_stanzas, _verify, 4),
    Case("bundle: one long stanza", _long_stanza, _verify, 60),
    Case("bundle: one long stanza line", _long_stanza_line, _verify, 6),
    Case("bundle: garbage after the header", _random_body, _verify, 64),
    Case("bundle: one large file", _large_file, _verify, 256),
    Case("bundle: many members", _many_members, _verify, 100),
    Case("bundle: unsigned members", _unsigned_members, _verify, 100),
    Case("JWS: a header with many fields", _jws_many_keys, _verify_jws, 400),
    Case("JWS: a header nested deep", _jws_deep, _verify_jws, 2000),
    Case("JWS: strings of escapes", _jws_escapes, _verify_jws, 1000),
    Case("message: a long payload", _message_payload, jws.unverified_payload, 500),
    Case("partner card: many fields and a long name", _card, _read_card, 500),
    Case("receipt: a long missing list", _receipt, _read_receipt, 500),
    Case("evidence pack: a long receipt", _pack, verify_pack, 200),
    Case("CTF: many pupils", _ctf_pupils, _read_ctf, 300),
    Case("CTF: elements nested deep", _ctf_deep, _read_ctf, 1000),
    Case("CTF: a long text of entities", _ctf_long_line, _read_ctf, 16),
    Case("records.json: many pupils", _records_valid, _load_records, 100),
    Case("records.json: many invalid pupils", _records_invalid, _load_records, 100),
    Case("records.json: nested deep", _records_deep, _load_records, 4000),
    Case("import zip: many members", _zip_members, _read_zip, 200),
    Case("PDF redactor: many lines of names", _pdf_lines, _redact, 60),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_time_per_byte_does_not_grow(case: Case, tmp_path: Path) -> None:
    assert_linear(case, tmp_path)


def _quadratic(data: bytes) -> object:
    # Each byte is compared with every byte before it: an accidental quadratic parser.
    return sum(
        data[earlier] == data[index] for index in range(len(data)) for earlier in range(index)
    )


def _linear(data: bytes) -> object:
    return data.count(b"a")


def _letters(count: int, _folder: Path) -> tuple[bytes, int]:
    return b"ab" * count, 2 * count


def test_the_check_fails_a_quadratic_parser_every_attempt(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"grew .*x, .*x, .*x from"):
        assert_linear(Case("quadratic", _letters, _quadratic, 30), tmp_path)


def test_the_check_passes_a_linear_parser(tmp_path: Path) -> None:
    assert_linear(Case("linear", _letters, _linear, 20_000), tmp_path)
