"""Atheris targets: one function per parser of untrusted bytes, with the seeds it starts from.

Each target takes the fuzzer's bytes as the untrusted input and checks the fuzz property:
a result or an ExchangeError; any other exception is a crash that atheris saves. Keys are made
once per process; the seeds are made with them, so the mutations start from valid inputs.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import tempfile
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for helper in ("tests/packaging", "tests/fuzz", "."):
    sys.path.insert(0, str(ROOT / helper))

SEPARATOR = b"\n\x00--8<--\x00\n"  # Between the files of an evidence pack in one input.
TODAY = date(2025, 7, 1)


class Target:
    """A parser under test: run(data) checks one input; seeds() returns starting inputs."""

    def __init__(self, run: Callable[[bytes], object], seeds: Callable[[], list[bytes]]) -> None:
        self.run = run
        self.seeds = seeds


def make_targets() -> dict[str, Target]:
    """Import the parsers (atheris instruments these imports) and return the targets."""
    from bundle_kit import Entry as TarEntry
    from bundle_kit import Parties, bundle, good_files, manifest_for, tar_of

    from exchange import jws
    from exchange.packaging.bundle import Expectations, Limits, verify_bundle
    from exchange.packaging.jws import sign_compact
    from exchange.packaging.keys import EncryptionKey, SigningKey
    from exchange.packaging.manifest import JWS_TYPE
    from exchange.partners.card import SchoolCard
    from exchange.receipts.evidence import verify_pack
    from exchange.receipts.receipt import Receipt
    from exchange.records.ctf import parse_ctf
    from exchange.records.import_errors import Problems
    from exchange.records.import_example import example_export
    from exchange.records.import_load import load_records
    from exchange.records.import_source import BoundedReader, open_export, read_all
    from exchange.records.import_source import Limits as ImportLimits
    from exchange.redaction.matcher import Matcher
    from exchange.redaction.names import build_match_set
    from exchange.redaction.pdf import redact_pdf
    from exchange.redaction.pipeline import process_pdf
    from exchange.redaction.pseudonyms import PseudonymBook
    from exchange.transfers.messages import COUNTERSIGNATURE, OFFER, RECEIPT

    parties = Parties()
    expect = Expectations((parties.recipient,), (parties.sender.public,), parties.recipient_urn)
    small = Limits(max_entries=64, max_file_bytes=1 << 20, max_total_bytes=4 << 20)
    key, other = SigningKey.generate(), SigningKey.generate()
    scratch = Path(tempfile.mkdtemp(prefix="sgx-atheris-"))
    import_limits = ImportLimits(
        max_file_bytes=1 << 20, max_files=200, max_total_bytes=8 << 20, max_records_bytes=4 << 20
    )

    def plaintext() -> bytes:
        files = good_files()
        manifest = __import__("rfc8785").dumps(manifest_for(parties, files))
        token = sign_compact(manifest, parties.sender, JWS_TYPE).encode()
        head = [TarEntry("manifest.json", manifest), TarEntry("manifest.jws", token)]
        return tar_of(head + [TarEntry(name, data) for name, data in files.items()])

    def run_bundle(data: bytes) -> object:
        return verify_bundle(io.BytesIO(data), expect, small)

    def run_bundle_tar(data: bytes) -> object:
        from bundle_kit import encrypt

        return verify_bundle(io.BytesIO(encrypt(data, parties.recipient)), expect, small)

    def run_jws(data: bytes) -> object:
        text = data.decode("latin-1")
        jws.unverified_header(text)
        jws.unverified_payload(text)
        return jws.verify(text, {key.key_id: key.public}, OFFER)

    def card() -> dict[str, Any]:
        encryption = EncryptionKey.generate()
        return {
            "format": "safeguarding-exchange.school-card",
            "version": 1,
            "urn": "900001",
            "laestab": "8012001",
            "name": "Fuzz Test School",
            "service_url": "https://a.example.test",
            "signing_key": {
                "ed25519": base64.b64encode(key.public.raw).decode(),
                "key_id": key.key_id,
            },
            "encryption_key": {
                "age_recipient": encryption.public.recipient,
                "key_id": encryption.key_id,
            },
        }

    def receipt() -> dict[str, Any]:
        return {
            "transfer_id": "tr-fuzz-1",
            "offer_sha256": "0" * 64,
            "ciphertext_sha256": "1" * 64,
            "manifest_sha256": "2" * 64,
            "file_count": 3,
            "disposition": "incomplete",
            "missing": ["vault/0001.pdf"],
            "reason": "one file did not arrive",
            "received_at": "2025-07-01T10:00:00Z",
            "signing_key_id": key.key_id,
            "checkpoint": None,
            "iss": "900002",
            "aud": "900001",
        }

    def pack_seed() -> bytes:
        receipt_jws = jws.sign(receipt(), key, RECEIPT)
        counter = {
            "receipt": receipt_jws,
            "receipt_sha256": __import__("hashlib").sha256(receipt_jws.encode()).hexdigest(),
            "transfer_id": "tr-fuzz-1",
            "verified": True,
            "iss": "900001",
            "aud": "900002",
            "iat": 1_751_365_860,
        }
        parts = [
            (receipt_jws + "\n").encode(),
            (jws.sign(counter, other, COUNTERSIGNATURE) + "\n").encode(),
            key.public.to_pem(),
            other.public.to_pem(),
        ]
        return SEPARATOR.join(parts)

    def run_pack(data: bytes) -> object:
        folder = scratch / "pack"
        folder.mkdir(exist_ok=True)
        names = ("receipt.jws", "countersignature.jws", "receiver-signing.pem")
        parts = data.split(SEPARATOR, 3) + [b""] * 4
        for name, part in zip((*names, "sender-signing.pem"), parts, strict=False):
            (folder / name).write_bytes(part)
        return verify_pack(folder)

    def run_zip(data: bytes) -> object:
        path = scratch / "export.zip"
        path.write_bytes(data)
        with open_export(path, import_limits) as source:
            records = source.read_records()
            for name, info in source._infos.items():  # Each file, as the import reads it.
                read_all(BoundedReader(source.open(name), info.file_size, name))
            return records

    def zip_seed() -> bytes:
        out = io.BytesIO()
        builder = example_export()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("records.json", json.dumps(builder.records))
            for name, content in builder.files.items():
                archive.writestr(name, content)
        return out.getvalue()

    from tests.redaction import corpus  # Imported here, so under the instrumentation.

    def run_pdf(data: bytes) -> object:
        source, output = scratch / "in.pdf", scratch / "out" / "redacted.pdf"
        output.parent.mkdir(exist_ok=True)
        output.unlink(missing_ok=True)
        source.write_bytes(data)
        return process_pdf(source, output, corpus.PEOPLE, subject_id=corpus.SUBJECT.person_id)

    matcher = Matcher(build_match_set(corpus.PEOPLE, corpus.SUBJECT.person_id, []))

    def run_pdf_redact(data: bytes) -> object:
        # Only the half that parses the untrusted bytes (pikepdf and our content-stream code):
        # no qpdf, pdftotext or OCR subprocess, which read our own output, not the input.
        source, output = scratch / "in.pdf", scratch / "out" / "redacted.pdf"
        output.parent.mkdir(exist_ok=True)
        source.write_bytes(data)
        return redact_pdf(source, output, matcher, PseudonymBook())

    def pdf_seeds() -> list[bytes]:
        seeds = []
        for make in (corpus.plain_pdf, corpus.reportlab_pdf, corpus.kerned_pdf):
            path = scratch / "seed.pdf"
            make(path)
            seeds.append(path.read_bytes())
        return seeds

    ctf_assets = ROOT / "tests" / "assets" / "imports" / "ctf"
    return {
        "bundle": Target(run_bundle, lambda: [bundle(parties)]),
        "bundle-tar": Target(run_bundle_tar, lambda: [plaintext()]),
        "jws": Target(run_jws, lambda: [jws.sign({"a": 1}, key, OFFER).encode()]),
        "message": Target(
            lambda data: jws.unverified_payload(data.decode("latin-1")),
            lambda: [jws.sign({"iss": "900001", "aud": "900002", "v": 1}, key, OFFER).encode()],
        ),
        "card": Target(
            SchoolCard.from_bytes,  # As `partners add` reads a card file.
            lambda: [json.dumps(card()).encode()],
        ),
        "receipt": Target(
            # As a receipt arrives: the JWS payload's JSON object, then the receipt's checks.
            lambda data: Receipt.from_payload(jws.strict_json_object(data, "payload")),
            lambda: [json.dumps(receipt()).encode()],
        ),
        "evidence": Target(run_pack, lambda: [pack_seed()]),
        "ctf": Target(
            lambda data: parse_ctf(data, TODAY),
            lambda: [path.read_bytes() for path in sorted(ctf_assets.glob("*.xml"))],
        ),
        "records": Target(
            lambda data: load_records(data, Problems()),
            lambda: [json.dumps(example_export().records).encode()],
        ),
        "import-zip": Target(run_zip, lambda: [zip_seed()]),
        "pdf": Target(run_pdf, pdf_seeds),
        "pdf-redact": Target(run_pdf_redact, pdf_seeds),
    }


TARGETS = (
    "bundle",
    "bundle-tar",
    "jws",
    "message",
    "card",
    "receipt",
    "evidence",
    "ctf",
    "records",
    "import-zip",
    "pdf",
    "pdf-redact",
)
