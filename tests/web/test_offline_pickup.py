"""The offline route without a partner card: a download page emailed to the receiving DSL,
receipt confirmed there, or by a signed transfer form uploaded by the departing DSL."""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes

import pytest
import pyzipper
from aiosmtpd.controller import Controller
from flask import Flask
from flow import csrf_token, post
from offline_kit import authorised_offline_transfer
from sqlalchemy import select, update
from transfer_kit import SUBJECT
from web_kit import World, inline_task_runner, sign_in, web_settings

from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.instance import Instance
from exchange.jws import parse
from exchange.partners.models import Partner
from exchange.transfers import pickup, states
from exchange.transfers.models import Transfer, TransferStep
from exchange.web import create_app

PASSPHRASE = re.compile(r'<p class="body passphrase" id="passphrase"><strong>([a-z-]+)</strong>')
LINK = re.compile(r"(http://\S+/pickup/(\S+))")
RECEIVER = "receiving.dsl@example.org"


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802, ARG002
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port  # type: ignore[attr-defined]
    yield handler
    controller.stop()


@pytest.fixture
def mailing_app(instance: Instance, inbox: Inbox) -> Iterator[Flask]:
    """The web app with SMTP set up, its queued tasks run inline by its own instance."""
    made = create_app(web_settings(instance, SMTP_HOST="127.0.0.1", SMTP_PORT=inbox.port))  # type: ignore[attr-defined]
    made.extensions["task_runner"] = inline_task_runner(made, made.extensions["exchange"])
    yield made
    made.extensions["exchange"].close()


def _exported(app: Flask, instance: Instance, world: World, email: str | None) -> tuple[int, str]:
    """Take an offline transfer to exported; return its id and the zip's passphrase."""
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    transfer_id = authorised_offline_transfer(client, instance, world.sender_id, world.pupil_id)
    with transaction(instance.sessions) as session:
        partner_id = session.get(Transfer, transfer_id).partner_id
        session.execute(
            update(Partner)
            .where(Partner.id == partner_id)
            .values(contact_name="Dsl Receiving", contact_email=email)
        )
    shown = post(client, f"/transfers/{transfer_id}/export", status=200)
    return transfer_id, PASSPHRASE.search(shown).group(1)


def _transfer(instance: Instance, transfer_id: int) -> Transfer:
    with instance.sessions() as session:
        return session.get(Transfer, transfer_id)


def _events(instance: Instance, event: str) -> int:
    with instance.sessions() as session:
        return len(session.scalars(select(AuditEntry).where(AuditEntry.event == event)).all())


def test_the_receiving_dsl_downloads_and_confirms_on_the_emailed_page(
    mailing_app: Flask, instance: Instance, world: World, inbox: Inbox
) -> None:
    transfer_id, passphrase = _exported(mailing_app, instance, world, RECEIVER)
    emails = [raw for to, raw in inbox.messages if RECEIVER in to]
    assert len(emails) == 1
    text = message_from_bytes(emails[0]).get_payload(decode=True).decode()
    assert passphrase not in text
    assert not any(name in text for name in SUBJECT)
    _link, token = LINK.search(text).groups()
    path = "/pickup/" + token

    anonymous = mailing_app.test_client()
    page = anonymous.get(path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    transfer = _transfer(instance, transfer_id)
    assert transfer.bundle_sha256 in body
    assert not any(name in body for name in SUBJECT)

    # A changed character, another transfer's id or no mac: the same dead-link page.
    for bad in (path[:-1] + ("A" if path[-1] != "A" else "B"), path.split(".")[0], "/pickup/x.y"):
        assert anonymous.get(bad).status_code == 404

    before = _events(instance, "transfer.offline_zip_picked_up")
    with anonymous.get(path + "/download") as download:
        assert download.status_code == 200
        assert download.headers["Cache-Control"] == "no-store"
        zipped = download.get_data()
    assert hashlib.sha256(zipped).hexdigest() == transfer.bundle_sha256
    assert _events(instance, "transfer.offline_zip_picked_up") == before + 1
    with pyzipper.AESZipFile(io.BytesIO(zipped)) as archive:
        archive.setpassword(passphrase.encode())
        code = re.search(r"Receipt code: (\S+)", archive.read("02-receipt-code.txt").decode())
    assert code is not None

    # Hostile: an overlong token, and a confirmation without the form's CSRF token.
    assert anonymous.get("/pickup/" + "a" * 5000 + "." + "b" * 50).status_code == 404
    forged = anonymous.post(path, data={"confirmed_by": "X", "code": code.group(1)})
    assert forged.status_code == 400
    assert _transfer(instance, transfer_id).state == states.EXPORTED
    form = {"csrf_token": csrf_token(anonymous), "confirmed_by": "Dsl Receiving"}
    wrong = anonymous.post(path, data={**form, "code": "0000-0000-0000-0000"})
    assert wrong.status_code == 400
    assert "does not match" in wrong.get_data(as_text=True)
    assert _transfer(instance, transfer_id).state == states.EXPORTED
    nameless = anonymous.post(path, data={**form, "confirmed_by": "", "code": code.group(1)})
    assert nameless.status_code == 400
    assert 'id="confirmed_by-error"' in nameless.get_data(as_text=True)

    done = anonymous.post(path, data={**form, "code": code.group(1)})
    assert done.status_code == 200
    assert "Receipt confirmed" in done.get_data(as_text=True)
    transfer = _transfer(instance, transfer_id)
    assert transfer.state == states.CLOSED
    record = json.loads(parse(transfer.receipt_jws).payload)
    assert record["method"] == "receipt code on the download page"
    assert record["confirmed_by"] == "Dsl Receiving"
    assert record["entered_by_user_id"] is None
    # Used: the link and the download are dead.
    assert anonymous.get(path).status_code == 404
    assert anonymous.get(path + "/download").status_code == 404


def test_the_link_dies_after_its_days_and_with_no_address_no_email_goes(
    mailing_app: Flask, instance: Instance, world: World, inbox: Inbox
) -> None:
    transfer_id, _ = _exported(mailing_app, instance, world, None)
    assert all(RECEIVER not in to for to, _ in inbox.messages)

    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        token = pickup.token_for(instance.instance_key, transfer)
    client = mailing_app.test_client()
    assert client.get(f"/pickup/{token}").status_code == 200
    with transaction(instance.sessions) as session:
        for step in session.scalars(
            select(TransferStep).where(TransferStep.transfer_id == transfer_id)
        ):
            step.at -= timedelta(days=15)
    assert client.get(f"/pickup/{token}").status_code == 404


def test_the_departing_dsl_uploads_the_signed_form_which_is_kept(
    mailing_app: Flask, instance: Instance, world: World
) -> None:
    transfer_id, _ = _exported(mailing_app, instance, world, None)
    client = mailing_app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    path = f"/transfers/{transfer_id}/signed-form"
    assert client.get(path).status_code == 200
    token = csrf_token(client)

    def send(data: bytes, name: str, who: str = "Dsl Receiving, Flow School 3") -> str:
        reply = client.post(
            path,
            data={"csrf_token": token, "confirmed_by": who, "form": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        return f"{reply.status_code} {reply.get_data(as_text=True)}"

    assert "must be a PDF, PNG or JPEG" in send(b"MZ\x90\x00 not a form", "form.exe")
    assert send(b"", "empty.pdf").startswith("400")
    assert 'id="confirmed_by-error"' in send(b"%PDF-1.7\n%signed\n", "form.pdf", who="")
    assert _transfer(instance, transfer_id).state == states.EXPORTED

    form = b"%PDF-1.7\n% the signed transfer form, as scanned\n%%EOF\n"
    assert send(form, "form.pdf").startswith("302")
    transfer = _transfer(instance, transfer_id)
    assert transfer.state == states.CLOSED
    record = json.loads(parse(transfer.receipt_jws).payload)
    assert record["method"] == "signed transfer form"
    assert record["v"] == 2
    assert record["form_sha256"] == hashlib.sha256(form).hexdigest()
    # The kept form is encrypted at rest and opens for the DSL, audited.
    stored = instance.blobs.path_for(transfer.signed_form_storage_key).read_bytes()
    assert b"signed transfer form" not in stored
    before = _events(instance, "transfer.signed_form_opened")
    opened = client.get(f"{path}/file")
    assert opened.status_code == 200
    assert opened.get_data() == form
    assert _events(instance, "transfer.signed_form_opened") == before + 1
    # The DPO sees the offline receipt verified and opens the kept form from there.
    dpo = mailing_app.test_client()
    sign_in(dpo, instance, world.user("sender", "dpo"))
    verified = dpo.get(f"/receipts/{transfer_id}/verify").get_data(as_text=True)
    assert "Offline receipt verified" in verified
    assert "signed transfer form" in verified
    assert f"/transfers/{transfer_id}/signed-form/file" in verified
    assert dpo.get(f"{path}/file").get_data() == form

    # At the purge the transfer is minimised: the form's file goes, its hash stays.
    from exchange.retention.transfer_minimise import minimise_transfers

    kept = instance.blobs.path_for(transfer.signed_form_storage_key)
    with transaction(instance.sessions) as session:
        assert minimise_transfers(session, instance.blobs, world.sender_id, [world.pupil_id]) == 1
    assert not kept.exists()
    minimised = _transfer(instance, transfer_id)
    assert minimised.signed_form_storage_key is None
    assert minimised.signed_form_sha256 == record["form_sha256"]
