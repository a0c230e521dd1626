"""The offline route in the pages: export the zip, see the passphrase once, enter the code."""

from __future__ import annotations

import io
import re

import pyzipper
from cryptography import x509
from cryptography.x509.oid import NameOID
from flask import Flask
from flow import post
from offline_kit import authorised_offline_transfer
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.audit.models import AuditEntry
from exchange.instance import Instance
from exchange.transfers import states
from exchange.transfers.models import Transfer

PASSPHRASE = re.compile(r'<p class="body passphrase" id="passphrase"><strong>([a-z-]+)</strong>')


def _events(instance: Instance, event: str) -> int:
    with instance.sessions() as session:
        return len(session.scalars(select(AuditEntry).where(AuditEntry.event == event)).all())


def test_the_dsl_exports_the_zip_sees_the_passphrase_once_and_closes_with_the_code(
    app: Flask, instance: Instance, world: World
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    transfer_id = authorised_offline_transfer(client, instance, world.sender_id, world.pupil_id)
    page = client.get(f"/transfers/{transfer_id}").get_data(as_text=True)
    assert f"/transfers/{transfer_id}/export" in page
    assert "Send the offer" not in page

    shown = post(client, f"/transfers/{transfer_id}/export", status=200)
    passphrase = PASSPHRASE.search(shown).group(1)
    assert len(passphrase.split("-")) >= 8
    # The key fingerprint to read out with it: the one the transfer form is signed with.
    fingerprint = re.search(r'<code id="key-fingerprint">([0-9A-F ]{79})</code>', shown)
    assert fingerprint is not None
    download = f"/transfers/{transfer_id}/export/download"
    assert download in shown

    # The passphrase is never shown again, and a second export is refused.
    for path in (f"/transfers/{transfer_id}", f"/transfers/{transfer_id}/export"):
        assert passphrase not in client.get(path).get_data(as_text=True)
    again = post(client, f"/transfers/{transfer_id}/export", status=400)
    assert passphrase not in again
    assert "not possible while the transfer is exported" in again

    before = _events(instance, "transfer.offline_zip_downloaded")
    with client.get(download) as zipped:
        assert zipped.status_code == 200
        assert zipped.headers["Content-Type"] == "application/zip"
        data = zipped.get_data()
    assert _events(instance, "transfer.offline_zip_downloaded") == before + 1
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        archive.setpassword(passphrase.encode())
        text = archive.read("02-receipt-code.txt").decode()
        certificate = x509.load_pem_x509_certificate(archive.read("08-signing-certificate.pem"))
    key_id = certificate.subject.get_attributes_for_oid(NameOID.DN_QUALIFIER)[0].value
    assert fingerprint.group(1).replace(" ", "").lower() == key_id
    code = re.search(r"Receipt code: (\S+)", text).group(1)

    wrong = post(
        client,
        f"/transfers/{transfer_id}/receipt-code",
        {"code": "0000-0000-0000-0000", "confirmed_by": "Dsl 3, Flow School 3"},
        status=400,
    )
    assert 'id="code-error"' in wrong
    assert "does not match" in wrong
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.EXPORTED
        assert transfer.receipt_jws is None

    missing = post(client, f"/transfers/{transfer_id}/receipt-code", {"code": code}, status=400)
    assert 'id="confirmed_by-error"' in missing

    post(
        client,
        f"/transfers/{transfer_id}/receipt-code",
        {"code": code.lower(), "confirmed_by": "Dsl 3, Flow School 3"},
    )
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.CLOSED
        assert transfer.offline_confirmed_by == "Dsl 3, Flow School 3"
        assert transfer.receipt_jws
    assert client.get(download).status_code == 404


def test_an_online_transfer_has_no_offline_pages(
    app: Flask, instance: Instance, world: World
) -> None:
    from flow import start_and_offer

    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    transfer_id = start_and_offer(
        client, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    for path in ("export", "export/download", "receipt-code"):
        assert client.get(f"/transfers/{transfer_id}/{path}").status_code == 404
