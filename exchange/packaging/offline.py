"""The offline export: an AES-256 (AE-2) zip that opens in 7-Zip, for schools without the service.

Entry names are neutral (zip names are not encrypted).  The passphrase is made of words from
our own list, at least 80 bits, shown once to the departing DSL to read out by phone.  The
receipt code inside the zip proves the receiver opened it; the sender stores only its hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyzipper

from exchange.errors import ValidationError
from exchange.packaging._words import WORDS
from exchange.packaging.build import CHUNK, document_entries
from exchange.packaging.chronology_pdf import render_chronology_pdf
from exchange.packaging.content import Chronology, DocumentEntry, VaultFile
from exchange.packaging.manifest import FileEntry
from exchange.packaging.transfer_form import render_transfer_form

FORMAT_VERSION = 1
MIN_PASSPHRASE_BITS = 80
CHRONOLOGY_NAME = "01-chronology.pdf"
FORM_NAME = "00-transfer-form.pdf"
RECEIPT_NAME = "02-receipt-code.txt"
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


def export_offline(
    output: str | os.PathLike[str],
    chronology: Chronology,
    vault_files: Sequence[VaultFile],
    *,
    passphrase: str | None = None,
    receipt_code: str | None = None,
) -> OfflineExport:
    """Write the AES-256 zip with the chronology, vault files, form and receipt code."""
    passphrase = passphrase or generate_passphrase()
    if len(passphrase) < 16:
        raise ValidationError("the passphrase is too short")
    receipt_code = receipt_code or generate_receipt_code()
    documents = document_entries(vault_files)
    chronology = dataclasses.replace(chronology, documents=tuple(documents))
    chronology_pdf = render_chronology_pdf(chronology)
    receipt_text = _receipt_text(chronology, receipt_code)
    listed = [
        _entry(CHRONOLOGY_NAME, chronology_pdf),
        _entry(RECEIPT_NAME, receipt_text),
        *(FileEntry(d.name, d.size, d.sha256) for d in documents),
    ]
    form = render_transfer_form(chronology, listed, RECEIPT_NAME, len(listed) + 1)
    path = Path(output)
    stamp = chronology.authorised_at.timetuple()[:6]
    try:
        with pyzipper.AESZipFile(
            path, "x", compression=pyzipper.ZIP_STORED, encryption=pyzipper.WZ_AES
        ) as archive:
            archive.setpassword(passphrase.encode("utf-8"))
            archive.setencryption(pyzipper.WZ_AES, nbits=256)
            for name, data in (
                (FORM_NAME, form),
                (CHRONOLOGY_NAME, chronology_pdf),
                (RECEIPT_NAME, receipt_text),
            ):
                archive.writestr(_info(archive, name, stamp), data)
            for vault_file, document in zip(vault_files, documents, strict=True):
                _copy_checked(archive, _info(archive, document.name, stamp), vault_file, document)
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


def _entry(name: str, data: bytes) -> FileEntry:
    return FileEntry(name, len(data), hashlib.sha256(data).hexdigest())


def _info(archive: pyzipper.AESZipFile, name: str, stamp: tuple[int, ...]) -> pyzipper.ZipInfo:
    info = archive.zipinfo_cls(name, date_time=stamp)
    info.compress_type = pyzipper.ZIP_STORED
    info.external_attr = 0o600 << 16
    return info


def _copy_checked(
    archive: pyzipper.AESZipFile,
    info: pyzipper.ZipInfo,
    vault_file: VaultFile,
    document: DocumentEntry,
) -> None:
    digest, size = hashlib.sha256(), 0
    with vault_file.opener() as source, archive.open(info, "w") as target:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            target.write(chunk)
    expected = (document.size, document.sha256)
    if (size, digest.hexdigest()) != expected:
        raise ValidationError(f"vault file {info.filename} changed while the export was written")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
