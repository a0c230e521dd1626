"""The offline export opens in 7-Zip, and every file's hash matches the transfer form."""

from __future__ import annotations

import hashlib
import math
import re
import subprocess
from pathlib import Path

import pytest
import pyzipper
from bundle_kit import tool

from exchange.packaging import offline
from exchange.packaging._words import WORDS
from exchange.packaging.keys import SigningKey
from exchange.packaging.samples import fictional_chronology, fictional_vault


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> offline.OfflineExport:
    """Return a small offline export written to disk."""
    folder = tmp_path_factory.mktemp("offline")
    return offline.export_offline(
        folder / "transfer.zip",
        fictional_chronology(8),
        fictional_vault(4, 30_000),
        signing_key=SigningKey.generate(),
    )


def test_passphrase_is_words_of_at_least_80_bits() -> None:
    assert len(WORDS) == len(set(WORDS)) >= 1024
    phrase = offline.generate_passphrase()
    words = phrase.split("-")
    assert all(word in WORDS for word in words)
    assert len(words) * math.log2(len(WORDS)) >= 80
    assert offline.generate_passphrase() != phrase


def test_receipt_code_checks_tolerate_reading_aloud() -> None:
    code = offline.generate_receipt_code()
    stored = offline.receipt_code_sha256(code)
    assert offline.check_receipt_code(stored, code.lower().replace("-", " "))
    assert not offline.check_receipt_code(stored, "0000-0000-0000-0000")
    assert offline.check_receipt_code(
        offline.receipt_code_sha256("A0B1-C1D2"), "aob1 cld2"
    )  # O for zero and l for one are read alike.


def test_7zip_extracts_and_hashes_match_the_form(
    export: offline.OfflineExport, tmp_path: Path
) -> None:
    seven = tool("7zz", "7z")
    out = tmp_path / "out"
    subprocess.run(
        [seven, "x", f"-p{export.passphrase}", f"-o{out}", str(export.path)],
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        [seven, "l", "-slt", f"-p{export.passphrase}", str(export.path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    outer = [f for f in export.files if "/" not in f.name]
    assert listing.count("Method = AES-256") == len(outer)
    assert "CRC = \n" in listing.replace("\r", "")  # AE-2: no CRC of the plaintext.
    form = out / offline.FORM_NAME
    text = subprocess.run(
        [tool("pdftotext"), "-layout", str(form), "-"], capture_output=True, text=True, check=True
    ).stdout
    listed = set(re.findall(r"\b[0-9a-f]{64}\b", text))
    inner = out / "inner"
    subprocess.run(
        [seven, "x", f"-o{inner}", str(out / offline.DOCUMENTS_NAME)],
        check=True,
        capture_output=True,
    )
    extracted = [p for p in out.rglob("*") if p.is_file() and p != form]
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for p in extracted} == listed
    count = re.search(r"Number of files listed: (\d+)", text)
    assert count is not None
    assert int(count.group(1)) == len(extracted) == len(export.files) - 1
    code_text = (out / offline.RECEIPT_NAME).read_text()
    assert export.receipt_code in code_text
    assert offline.check_receipt_code(export.receipt_code_sha256, export.receipt_code)


def test_names_in_clear_are_neutral_and_wrong_passphrase_fails(
    export: offline.OfflineExport,
) -> None:
    data = export.path.read_bytes()
    for needle in (b"Fictional", b"Alex", b"B801200005001", b"Testbrook"):
        assert needle not in data
    with pyzipper.AESZipFile(export.path) as archive:
        names = archive.namelist()
        assert all(re.fullmatch(r"\d\d-[A-Za-z.-]+\.(pdf|txt|json|csv|zip|pem)", n) for n in names)
        archive.setpassword(b"wrong-passphrase-words")
        with pytest.raises(RuntimeError):
            archive.read(names[0])
    assert "passphrase" not in repr(export).replace("passphrase=<hidden>", "")
    assert export.passphrase not in repr(export)


def test_export_refuses_to_overwrite(export: offline.OfflineExport) -> None:
    with pytest.raises(FileExistsError):
        offline.export_offline(
            export.path, fictional_chronology(1), [], signing_key=SigningKey.generate()
        )
