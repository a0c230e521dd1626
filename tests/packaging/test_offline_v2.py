"""Offline format version 2: what a receiver on another system opens, loads and checks."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
import sys
from datetime import date, datetime, time
from pathlib import Path

import jsonschema
import openpyxl
import pytest
from bundle_kit import tool
from cryptography import x509
from cryptography.x509.oid import NameOID
from offline_v2_kit import SCHEMA, open_with_7zip, pdf_text, read_csv

from exchange.packaging import offline, offline_csv, pades
from exchange.packaging.keys import SigningKey
from exchange.packaging.safe_names import safe_file_name
from exchange.packaging.samples import fictional_chronology, fictional_vault
from exchange.policy.classes import TRANSFER_CLASSES

KEY = SigningKey.from_raw(bytes(range(32)))
# Titles as a school's system might hold them: accents, separators, device names, duplicates.
TITLES = (
    "Référé médical – Zoë.docx",
    "../../etc/passwd",
    "CON",
    "Minutes",
    "minutes",
    'Report: 3/4? <draft> | "final"\x07',
    "x" * 300,
)
EXPECTED_NAMES = (
    "Référé médical – Zoë.pdf",
    "_.._etc_passwd.pdf",
    "_CON.pdf",
    "Minutes.pdf",
    "minutes (2).pdf",
    "Report_ 3_4_ _draft_ _ _final_.pdf",
    "x" * 116 + ".pdf",
)
TRICKY = {
    "INC-0001": '=HYPERLINK("https://example.invalid","click")',
    "INC-0002": "+44 7700 900123 called",
    "INC-0003": "@SUM(A1:A9)",
    "INC-0004": "-5 marks; café, naïve, Zoë",
    "INC-0005": "\tindented",
}


def _chronology() -> offline.Chronology:
    chronology = fictional_chronology(12, seed=3)
    incidents = tuple(
        dataclasses.replace(
            incident,
            narrative=TRICKY.get(incident.ref, incident.narrative),
            category="Santé/Médical" if incident.ref == "INC-0004" else incident.category,
        )
        for incident in chronology.incidents
    )
    return dataclasses.replace(chronology, incidents=incidents)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> offline.OfflineExport:
    """Return a version 2 export with awkward titles and texts."""
    vault = [
        dataclasses.replace(vault_file, title=title)
        for vault_file, title in zip(fictional_vault(len(TITLES), 5_000), TITLES, strict=True)
    ]
    roles = {"INC-0001": "Class teacher", "INC-0004": "=cmd|' /C calc'!A0"}
    return offline.export_offline(
        tmp_path_factory.mktemp("offline-v2") / "transfer.zip",
        _chronology(),
        vault,
        signing_key=KEY,
        details=offline.ReceiverDetails(
            author_roles=roles,
            shared_categories={"INC-0001": "bullying", "INC-0004": "medical"},
            document_categories={"vault/0001.pdf": "Medical"},
        ),
    )


@pytest.fixture(scope="module")
def opened(export: offline.OfflineExport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the folder 7-Zip extracted the package (and its documents.zip) into."""
    return open_with_7zip(export.path, export.passphrase, tmp_path_factory.mktemp("opened"))


def test_format_version_2_lists_every_file_in_index_and_form(
    export: offline.OfflineExport, opened: Path
) -> None:
    assert offline.FORMAT_VERSION == 2
    outer = sorted(p.name for p in opened.iterdir() if p.is_file())
    assert outer == sorted(
        [
            offline.FORM_NAME,
            offline.CHRONOLOGY_NAME,
            offline.RECEIPT_NAME,
            offline.JSON_NAME,
            offline.CSV_NAME,
            offline.DOCUMENTS_NAME,
            offline.INDEX_NAME,
            offline.README_NAME,
            offline.CERTIFICATE_NAME,
            offline.SCHEMA_NAME,
        ]
    )
    inner = sorted(p.name for p in (opened / "documents").iterdir())
    assert inner == sorted(EXPECTED_NAMES)

    index = read_csv(opened / offline.INDEX_NAME)
    files = {row["file"] for row in index}
    assert files == set(outer) | {f"{offline.DOCUMENTS_NAME}/{name}" for name in inner}
    for row in index:
        folder, _, name = row["file"].rpartition("/")
        path = opened / "documents" / name if folder else opened / name
        if row["sha256"]:
            assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
            assert path.stat().st_size == int(row["bytes"])
        else:  # Only the form (signed) and the index itself cannot list their hash.
            assert row["file"] in (offline.FORM_NAME, offline.INDEX_NAME)
    titles = {row["file"].split("/", 1)[-1]: row for row in index}
    assert titles["Référé médical – Zoë.pdf"]["title"] == TITLES[0]
    assert titles["Référé médical – Zoë.pdf"]["category"] == "Medical"
    assert titles["Minutes.pdf"]["date"] == "2024-01-29"

    form = pdf_text(opened / offline.FORM_NAME)
    every = [p for p in opened.rglob("*") if p.is_file() and p.name != offline.FORM_NAME]
    assert set(re.findall(r"\b[0-9a-f]{64}\b", form)) == {
        hashlib.sha256(p.read_bytes()).hexdigest() for p in every
    }
    assert "Number of files listed: 16. The zip holds 10 files" in form
    readme = (opened / offline.README_NAME).read_bytes()
    assert readme.isascii()
    assert b"\r\n" in readme
    assert KEY.key_id.upper()[:4].encode() in readme


def test_titled_names_stay_inside_the_encryption(export: offline.OfflineExport) -> None:
    data = export.path.read_bytes()
    for needle in ("Référé", "Minutes", "passwd", "Zoë", "HYPERLINK", "Class teacher"):
        assert needle.encode() not in data


def test_safe_file_names_refuse_what_file_systems_refuse() -> None:
    taken: set[str] = set()
    names = [safe_file_name(t, "pdf", "Document", taken) for t in (*TITLES, "", " . ", "nul.txt")]
    assert names[: len(TITLES)] == list(EXPECTED_NAMES)
    assert names[len(TITLES) :] == ["Document.pdf", "Document (2).pdf", "_nul.pdf"]
    for name in names:
        assert not re.search(r"[\x00-\x1f<>:\"/\\|?*]", name)
        assert len(name.encode()) <= 120
        assert not name.startswith((".", " "))


def test_chronology_json_matches_the_published_schema(opened: Path) -> None:
    shipped = (opened / offline.SCHEMA_NAME).read_bytes()
    assert shipped == SCHEMA.read_bytes()  # The zip carries the schema docs/ publishes.
    schema = json.loads(shipped)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    document = json.loads((opened / offline.JSON_NAME).read_text(encoding="utf-8"))
    assert sorted(validator.iter_errors(document), key=str) == []
    assert [i["ref"] for i in document["incidents"]] == [
        i.ref for i in _chronology().in_time_order()
    ]
    assert document["incidents"][0]["occurred_at"] <= document["incidents"][-1]["occurred_at"]
    shared = {i["ref"]: i["shared_category"] for i in document["incidents"]}
    assert shared["INC-0001"] == "bullying"
    assert shared["INC-0002"] is None
    vocabulary = schema["$defs"]["incident"]["properties"]["shared_category"]["enum"]
    assert set(vocabulary) == {*TRANSFER_CLASSES, None}  # The schema follows the policy.
    roles = {i["ref"]: i["author_role"] for i in document["incidents"]}
    assert roles["INC-0001"] == "Class teacher"
    assert roles["INC-0002"] == ""
    for item in document["documents"]:
        path = opened / "documents" / item["file"].split("/", 1)[1]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == item["sha256"]
    # The schema is strict: an unknown field, a wrong version or a bad hash are refused.
    for broken in (
        {**document, "extra": 1},
        {**document, "version": 1},
        {**document, "documents": [{**document["documents"][0], "sha256": "ABC"}]},
        {**document, "incidents": [{**document["incidents"][0], "status": "maybe"}]},
        {**document, "incidents": [{**document["incidents"][0], "shared_category": "SEN"}]},
    ):
        assert list(validator.iter_errors(broken))


def test_chronology_csv_is_one_row_per_incident_and_formula_safe(opened: Path) -> None:
    rows = read_csv(opened / offline.CSV_NAME)
    expected = _chronology().in_time_order()
    assert [row["reference"] for row in rows] == [i.ref for i in expected]
    assert list(rows[0]) == list(offline_csv.CHRONOLOGY_HEADER)
    by_ref = {row["reference"]: row for row in rows}
    assert by_ref["INC-0001"]["narrative"] == "'" + TRICKY["INC-0001"]
    assert by_ref["INC-0002"]["narrative"] == "'" + TRICKY["INC-0002"]
    assert by_ref["INC-0003"]["narrative"] == "'" + TRICKY["INC-0003"]
    assert by_ref["INC-0004"]["narrative"] == "'" + TRICKY["INC-0004"]
    assert by_ref["INC-0005"]["narrative"] == "'" + TRICKY["INC-0005"]
    assert by_ref["INC-0004"]["author role"] == "'=cmd|' /C calc'!A0"
    assert by_ref["INC-0004"]["category"] == "Santé/Médical"
    assert by_ref["INC-0004"]["shared category"] == "medical"
    assert by_ref["INC-0002"]["shared category"] == ""
    for row in rows:
        for value in row.values():
            assert not value.startswith(offline_csv.FORMULA_STARTS)
    with_actions = next(i for i in expected if len(i.actions) > 1)
    assert by_ref[with_actions.ref]["actions"].count("\n") == len(with_actions.actions) - 1


def _calc_installed() -> bool:
    soffice = shutil.which("soffice")
    if soffice is None:
        return False
    program = Path(soffice).resolve().parent
    return any(program.glob("libsclo.so"))


def _calc_sheet(csv_file: Path, folder: Path) -> list[list[openpyxl.cell.Cell]]:
    """Convert a CSV to xlsx with LibreOffice Calc (comma, quote, UTF-8) and read its cells."""
    subprocess.run(
        [
            tool("soffice"),
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--headless",
            "--infilter=CSV:44,34,76,1",  # Comma, double quote, UTF-8 (76), from row 1.
            "--convert-to",
            "xlsx",
            "--outdir",
            str(folder),
            str(csv_file),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    book = openpyxl.load_workbook(folder / csv_file.with_suffix(".xlsx").name)
    return [list(row) for row in book.active.iter_rows()]


@pytest.mark.skipif(
    not _calc_installed(), reason="LibreOffice Calc (libreoffice-calc-nogui) is not installed"
)
def test_chronology_csv_opens_in_libreoffice_calc(opened: Path, tmp_path: Path) -> None:
    expected = read_csv(opened / offline.CSV_NAME)
    rows = _calc_sheet(opened / offline.CSV_NAME, tmp_path / "safe")
    header, cells = rows[0], rows[1:]
    assert [c.value for c in header] == list(offline_csv.CHRONOLOGY_HEADER)  # No BOM left.
    assert len(cells) == len(expected)
    for row, wanted in zip(cells, expected, strict=True):
        for cell, name in zip(row, offline_csv.CHRONOLOGY_HEADER, strict=True):
            assert cell.data_type != "f", f"{name} became a formula"
            assert _as_text(cell.value) == wanted[name], (name, cell.value, wanted[name])
    column = {name: number for number, name in enumerate(offline_csv.CHRONOLOGY_HEADER)}
    by_ref = {row[0].value: row for row in cells}
    assert by_ref["INC-0004"][column["category"]].value == "Santé/Médical"  # Accents survive.
    narrative = by_ref["INC-0001"][column["narrative"]]
    assert narrative.value == "'" + TRICKY["INC-0001"]  # Text, not a formula.
    assert any("\n" in (row[column["actions"]].value or "") for row in cells)

    # The control: the same cells without the apostrophe do become formulas in Calc.
    raw = tmp_path / "raw.csv"
    with raw.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(offline_csv.CHRONOLOGY_HEADER)
        writer.writerows([v.removeprefix("'") for v in row.values()] for row in expected)
    unsafe = _calc_sheet(raw, tmp_path / "unsafe")
    formulas = {row[0].value for row in unsafe if row[column["narrative"]].data_type == "f"}
    assert formulas >= {"INC-0001"}


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime) and value.date() == date(1899, 12, 30):  # A bare time.
        return value.strftime("%H:%M")
    if isinstance(value, datetime) and value.time() == time(0, 0):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


def _validate(form: Path, trust: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,  # pyHanko's own command line, as `pyhanko sign validate`.
            "-m",
            "pyhanko",
            "sign",
            "validate",
            "--pretty-print",
            "--no-revocation-check",
            "--trust-replace",
            "--trust",
            str(trust),
            str(form),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_form_signature_verifies_with_the_pyhanko_cli(opened: Path, tmp_path: Path) -> None:
    form = opened / offline.FORM_NAME
    certificate = opened / offline.CERTIFICATE_NAME
    good = _validate(form, certificate)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "The signature is judged VALID." in good.stdout
    assert "The signer's certificate is trusted." in good.stdout
    assert "The signature mechanism used was 'ed25519'." in good.stdout
    assert "The signature covers the entire file." in good.stdout

    data = bytearray(form.read_bytes())
    ranges = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)
    assert ranges is not None
    start, length = int(ranges.group(1)), int(ranges.group(2))
    data[start + length // 2] ^= 0x01  # One bit changed inside the signed bytes.
    modified = tmp_path / "modified.pdf"
    modified.write_bytes(bytes(data))
    bad = _validate(modified, certificate)
    assert bad.returncode != 0
    assert "judged VALID" not in bad.stdout

    other = tmp_path / "other.pem"
    other.write_bytes(
        pades.certificate_pem(pades.school_certificate(SigningKey.generate(), "Other", "900009"))
    )
    untrusted = _validate(form, other)
    assert untrusted.returncode != 0
    assert "The signer's certificate is trusted." not in untrusted.stdout


def test_certificate_is_derived_from_the_key_and_names_the_school(opened: Path) -> None:
    shipped = x509.load_pem_x509_certificate((opened / offline.CERTIFICATE_NAME).read_bytes())
    again = pades.school_certificate(KEY, "Testbrook Primary School (fictional)", "900001")
    assert shipped == again  # Deterministic: nothing to store.

    def value(oid: x509.ObjectIdentifier) -> object:
        return shipped.subject.get_attributes_for_oid(oid)[0].value

    assert value(NameOID.COMMON_NAME) == "Testbrook Primary School (fictional)"
    assert value(NameOID.SERIAL_NUMBER) == "URN 900001"
    assert value(NameOID.DN_QUALIFIER) == KEY.key_id
    assert shipped.issuer == shipped.subject
