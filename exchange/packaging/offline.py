"""The offline export: an AES-256 (AE-2) zip that opens in 7-Zip, for schools without the service.

Entry names are neutral (zip names are not encrypted); documents keep their redacted titles
inside an inner documents.zip, whose bytes are one encrypted entry.  The passphrase is made
of words from our own list, at least 80 bits, shown once to the departing DSL to read out by
phone.  The receipt code inside the zip proves the receiver opened it; the sender stores only
its hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyzipper

from exchange.errors import ValidationError
from exchange.packaging._words import WORDS
from exchange.packaging.build import CHUNK, document_entries
from exchange.packaging.chronology_pdf import render_chronology_pdf
from exchange.packaging.content import Chronology, VaultFile
from exchange.packaging.keys import SigningKey, phone_fingerprint
from exchange.packaging.manifest import FileEntry
from exchange.packaging.offline_csv import chronology_csv
from exchange.packaging.offline_documents import (
    ZIP64_AFTER,
    titled_documents,
    write_documents_zip,
)
from exchange.packaging.offline_index import IndexRow, index_csv, readme_text
from exchange.packaging.offline_json import offline_chronology_json, schema_bytes
from exchange.packaging.pades import certificate_pem, school_certificate, sign_pdf
from exchange.packaging.transfer_form import render_transfer_form

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # docs/offline-export.md describes both.
MIN_PASSPHRASE_BITS = 80
FORM_NAME = "00-transfer-form.pdf"
CHRONOLOGY_NAME = "01-chronology.pdf"
RECEIPT_NAME = "02-receipt-code.txt"
JSON_NAME = "03-chronology.json"
CSV_NAME = "04-chronology.csv"
DOCUMENTS_NAME = "05-documents.zip"
INDEX_NAME = "06-index.csv"
README_NAME = "07-README.txt"
CERTIFICATE_NAME = "08-signing-certificate.pem"
SCHEMA_NAME = "09-chronology.schema.json"
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U.
_CODE_GROUPS = 4
_CODE_GROUP_LENGTH = 4


@dataclass(frozen=True)
class OfflineExport:
    """What the sender gets back: show the passphrase once, keep the hashes."""

    path: Path
    passphrase: str
    receipt_code: str
    receipt_code_sha256: str
    files: tuple[FileEntry, ...]
    zip_sha256: str

    def __repr__(self) -> str:
        return f"OfflineExport(path={self.path}, files={len(self.files)}, passphrase=<hidden>)"


def passphrase_bits(words: int) -> float:
    """Return the strength in bits of a passphrase of this many words."""
    return words * math.log2(len(WORDS))


def generate_passphrase(min_bits: int = MIN_PASSPHRASE_BITS) -> str:
    """Return random words joined by hyphens, with at least min_bits of entropy."""
    count = math.ceil(min_bits / math.log2(len(WORDS)))
    return "-".join(secrets.choice(WORDS) for _ in range(count))


def generate_receipt_code() -> str:
    """Return an 80-bit receipt code in groups, e.g. 7K2Q-M9XD-…, easy to read out."""
    characters = "".join(
        secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_GROUPS * _CODE_GROUP_LENGTH)
    )
    step = _CODE_GROUP_LENGTH
    return "-".join(characters[i : i + step] for i in range(0, len(characters), step))


def normalise_receipt_code(code: str) -> str:
    """Return the code upper-cased, without separators, with look-alikes mapped."""
    cleaned = code.upper().translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    return "".join(c for c in cleaned if c in _CODE_ALPHABET)


def receipt_code_sha256(code: str) -> str:
    """Return the hash the sender stores instead of the code."""
    return hashlib.sha256(normalise_receipt_code(code).encode("ascii")).hexdigest()


def check_receipt_code(stored_sha256: str, entered: str) -> bool:
    """Return whether an entered code matches the stored hash (constant time)."""
    return hmac.compare_digest(stored_sha256, receipt_code_sha256(entered))


@dataclass(frozen=True)
class ReceiverDetails:
    """What the receiver's own system needs beyond the chronology: roles and categories."""

    author_roles: Mapping[str, str] = field(default_factory=dict)  # incident ref -> job title
    # incident ref -> the shared transfer class (exchange.policy.classes), where one applies
    shared_categories: Mapping[str, str] = field(default_factory=dict)
    document_categories: Mapping[str, str] = field(default_factory=dict)  # vault name -> path


def export_offline(
    output: str | os.PathLike[str],
    chronology: Chronology,
    vault_files: Sequence[VaultFile],
    *,
    signing_key: SigningKey,
    details: ReceiverDetails | None = None,
    passphrase: str | None = None,
    receipt_code: str | None = None,
) -> OfflineExport:
    """Write the AES-256 zip: signed form, chronology (PDF, JSON, CSV), documents and index."""
    passphrase = passphrase or generate_passphrase()
    if len(passphrase) < 16:
        raise ValidationError("the passphrase is too short")
    details = details or ReceiverDetails()
    receipt_code = receipt_code or generate_receipt_code()
    documents = document_entries(vault_files)
    chronology = dataclasses.replace(chronology, documents=tuple(documents))
    titled = titled_documents(documents, details.document_categories)
    certificate = school_certificate(signing_key, chronology.sender.name, chronology.sender.urn)
    made = chronology.generated_at.date().isoformat()
    generated = {
        CHRONOLOGY_NAME: ("Chronology (PDF)", render_chronology_pdf(chronology)),
        RECEIPT_NAME: ("Receipt code", _receipt_text(chronology, receipt_code)),
        JSON_NAME: (
            "Chronology (JSON)",
            offline_chronology_json(chronology, titled, details, DOCUMENTS_NAME),
        ),
        CSV_NAME: (
            "Chronology (CSV)",
            chronology_csv(chronology, details.author_roles, details.shared_categories),
        ),
        CERTIFICATE_NAME: ("Sending school's signing certificate", certificate_pem(certificate)),
        SCHEMA_NAME: ("JSON Schema of the chronology (JSON)", schema_bytes()),
    }
    generated[README_NAME] = (
        "How to read and check these files",
        readme_text(
            chronology,
            form=FORM_NAME,
            receipt=RECEIPT_NAME,
            chronology_json=JSON_NAME,
            chronology_csv=CSV_NAME,
            documents_zip=DOCUMENTS_NAME,
            index=INDEX_NAME,
            certificate=CERTIFICATE_NAME,
            schema=SCHEMA_NAME,
            fingerprint=phone_fingerprint(signing_key.key_id),
        ),
    )
    path = Path(output)
    stamp = chronology.authorised_at.timetuple()[:6]
    try:
        with pyzipper.AESZipFile(
            path, "x", compression=pyzipper.ZIP_STORED, encryption=pyzipper.WZ_AES
        ) as archive:
            archive.setpassword(passphrase.encode("utf-8"))
            archive.setencryption(pyzipper.WZ_AES, nbits=256)
            total = sum(d.size for d in documents)
            with archive.open(
                _info(archive, DOCUMENTS_NAME, stamp), "w", force_zip64=total > ZIP64_AFTER
            ) as target:
                inner = write_documents_zip(
                    target, vault_files, titled, chronology.authorised_at.date()
                )
            for name, (_, data) in generated.items():
                archive.writestr(_info(archive, name, stamp), data)
            rows = [
                IndexRow(FORM_NAME, "Transfer form (signed: the signature protects it)", made),
                *(
                    IndexRow(name, title, made, "", len(data), _sha256(data))
                    for name, (title, data) in sorted(generated.items())
                ),
                IndexRow(DOCUMENTS_NAME, "Documents under their titles", made, "", *inner),
                *(
                    IndexRow(
                        f"{DOCUMENTS_NAME}/{d.file_name}",
                        d.entry.title,
                        d.entry.document_date.isoformat() if d.entry.document_date else "",
                        d.category,
                        d.entry.size,
                        d.entry.sha256,
                    )
                    for d in titled
                ),
                IndexRow(INDEX_NAME, "This index (it cannot list its own hash)", made),
            ]
            index = index_csv(rows)
            archive.writestr(_info(archive, INDEX_NAME, stamp), index)
            listed = sorted(
                [
                    *(_entry(name, data) for name, (_, data) in generated.items()),
                    FileEntry(DOCUMENTS_NAME, *inner),
                    _entry(INDEX_NAME, index),
                ],
                key=lambda entry: entry.name,
            ) + [
                FileEntry(f"{DOCUMENTS_NAME}/{d.file_name}", d.entry.size, d.entry.sha256)
                for d in titled
            ]
            outer_count = len(generated) + 3  # The generated files, documents, index and form.
            form = sign_pdf(
                render_transfer_form(
                    chronology, listed, RECEIPT_NAME, outer_count, signing_key.key_id
                ),
                signing_key,
                certificate,
                f"Transfer {chronology.transfer_id} authorised by the sending school",
            )
            archive.writestr(_info(archive, FORM_NAME, stamp), form)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return OfflineExport(
        path=path,
        passphrase=passphrase,
        receipt_code=receipt_code,
        receipt_code_sha256=receipt_code_sha256(receipt_code),
        files=(_entry(FORM_NAME, form), *listed),
        zip_sha256=_sha256_file(path),
    )


def _receipt_text(chronology: Chronology, code: str) -> bytes:
    return (
        f"Safeguarding file transfer {chronology.transfer_id}\r\n"
        f"Receipt code: {code}\r\n"
        "Give this code to the sending school's DSL to confirm you opened the files.\r\n"
    ).encode("ascii")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entry(name: str, data: bytes) -> FileEntry:
    return FileEntry(name, len(data), _sha256(data))


def _info(archive: pyzipper.AESZipFile, name: str, stamp: tuple[int, ...]) -> pyzipper.ZipInfo:
    info = archive.zipinfo_cls(name, date_time=stamp)
    info.compress_type = pyzipper.ZIP_STORED
    info.external_attr = 0o600 << 16
    return info


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
