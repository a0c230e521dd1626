"""On the CLI, an offline transfer closes with the signed transfer form, scanned and uploaded."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from totp_kit import acting, enrol
from transfer_kit import child_with_records, school_with_keys

from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.jws import parse
from exchange.transfers.models import Transfer

SEVEN_ZIP = shutil.which("7zz") or shutil.which("7z")
PDFTOPPM = shutil.which("pdftoppm")


@pytest.mark.skipif(SEVEN_ZIP is None or PDFTOPPM is None, reason="needs 7-Zip and poppler")
def test_the_scanned_signed_form_is_kept_as_the_receipt(
    instance: Instance, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        subject, _ = child_with_records(session, instance, sender)
        upn = subject.upn
    enrol(instance, "dsl1@example.org")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, ["--school", "990101", *args], env=cli_env)
        assert result.exit_code == code, result.output
        return result.output

    def me() -> list[str]:
        return acting(instance, "dsl1@example.org")

    added = run(
        "transfers", "destination-add", "independent_school", "--identifier", "123456",
        "--name", "Example Independent School", "--address", "1 Example Road, Exampleton",
        "--contact-name", "Kim Lee",
        "--contact-email", "dsl@independent.example", *me(),
    )  # fmt: skip
    destination = added.split()[0]
    created = run("transfers", "create", "--upn", upn, "--to", destination, *me())
    reference = re.search(r"draft ([0-9a-f-]{36})", created).group(1)[:8]
    run("transfers", "review", reference, *me())
    run(
        "transfers", "conversation", reference, "--held-on", date.today().isoformat(),
        "--participants", "Dsl 1, Kim Lee", "--summary", "Needs a trusted adult.", *me(),
    )  # fmt: skip
    run("transfers", "authorise", reference, "--confirm", *me())
    exported = run("transfers", "export", reference, *me())
    zip_path = re.search(r"zip written to (\S+)", exported).group(1)
    passphrase = exported.strip().splitlines()[-1].strip()
    opened = tmp_path / "opened"
    subprocess.run(
        [SEVEN_ZIP, "x", f"-p{passphrase}", f"-o{opened}", zip_path],
        check=True,
        capture_output=True,
    )
    # The receiving DSL prints, signs and scans the form: a PNG made by poppler from the PDF.
    subprocess.run(
        [PDFTOPPM, "-png", "-r", "60", "-singlefile", str(opened / "00-transfer-form.pdf"),
         str(tmp_path / "scan")],
        check=True,
    )  # fmt: skip
    scan = tmp_path / "scan.png"
    not_a_form = tmp_path / "form.txt"
    not_a_form.write_text("I got it")
    refused = run(
        "transfers", "record-form", reference, "--file", str(not_a_form),
        "--confirmed-by", "Kim Lee", *me(), code=1,
    )  # fmt: skip
    assert "must be a PDF, PNG or JPEG" in refused
    # A real scan padded past 20 MB (a PNG reader ignores what follows IEND): refused, unkept.
    too_big = tmp_path / "huge-scan.png"
    too_big.write_bytes(scan.read_bytes() + b"\0" * (20 * 1024 * 1024))
    refused = run(
        "transfers", "record-form", reference, "--file", str(too_big),
        "--confirmed-by", "Kim Lee", *me(), code=1,
    )  # fmt: skip
    assert "larger than 20 MB" in refused
    with instance.sessions() as session:
        transfer = session.query(Transfer).one()
        assert transfer.signed_form_storage_key is None
        assert transfer.receipt_jws is None
    run(
        "transfers", "record-form", reference, "--file", str(scan),
        "--confirmed-by", "Kim Lee, Example Independent School", *me(),
    )  # fmt: skip
    assert re.search(rf"{reference}\S*\s+closed", run("transfers", "list"))
    with instance.sessions() as session:
        transfer = session.query(Transfer).one()
        record = json.loads(parse(transfer.receipt_jws).payload)
        assert record["method"] == "signed transfer form"
        assert record["form_media_type"] == "image/png"
        assert record["form_sha256"] == hashlib.sha256(scan.read_bytes()).hexdigest()
        assert transfer.signed_form_sha256 == record["form_sha256"]
