"""An offline receipt verifies on the DPO's page and exports an evidence pack OpenSSL checks."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path

import pyzipper
from click.testing import CliRunner
from flask import Flask
from flow import post
from offline_kit import authorised_offline_transfer
from web_kit import World, sign_in

from exchange.cli import main
from exchange.instance import Instance

PASSPHRASE = re.compile(r'<p class="body passphrase" id="passphrase"><strong>([a-z-]+)</strong>')


def _closed_offline_transfer(app: Flask, instance: Instance, world: World) -> int:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    transfer_id = authorised_offline_transfer(client, instance, world.sender_id, world.pupil_id)
    shown = post(client, f"/transfers/{transfer_id}/export", status=200)
    passphrase = PASSPHRASE.search(shown).group(1)
    with client.get(f"/transfers/{transfer_id}/export/download") as zipped:
        data = zipped.get_data()
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        archive.setpassword(passphrase.encode())
        text = archive.read("02-receipt-code.txt").decode()
    code = re.search(r"Receipt code: (\S+)", text).group(1)
    post(
        client,
        f"/transfers/{transfer_id}/receipt-code",
        {"code": code, "confirmed_by": "Dsl 3, Flow School 3"},
    )
    return transfer_id


def test_the_dpo_sees_an_offline_receipt_verified_and_exports_its_pack(
    app: Flask, instance: Instance, world: World, tmp_path: Path
) -> None:
    transfer_id = _closed_offline_transfer(app, instance, world)
    dpo = app.test_client()
    sign_in(dpo, instance, world.user("sender", "dpo"))
    page = dpo.get(f"/receipts/{transfer_id}/verify")
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text
    assert "Offline receipt verified" in text
    assert "Dsl 3, Flow School 3" in text
    pack = dpo.get(f"/receipts/{transfer_id}/evidence.zip")
    assert pack.status_code == 200
    folder = tmp_path / "pack"
    with zipfile.ZipFile(io.BytesIO(pack.get_data())) as archive:
        archive.extractall(folder)
    checked = subprocess.run(["sh", "check.sh"], cwd=folder, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "VERIFIED" in checked.stdout
    result = CliRunner().invoke(main, ["receipts", "verify", str(folder)])
    assert result.exit_code == 0, result.output
    assert "offline receipt record verifies" in result.output

    record = folder / "offline-receipt.jws"
    token = record.read_text().strip()
    header, payload, signature = token.split(".")
    flipped = "A" if payload[5] != "A" else "B"
    record.write_text(f"{header}.{payload[:5]}{flipped}{payload[6:]}.{signature}\n")
    refused = subprocess.run(["sh", "check.sh"], cwd=folder, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "NOT VERIFIED" in refused.stderr
    assert CliRunner().invoke(main, ["receipts", "verify", str(folder)]).exit_code != 0
