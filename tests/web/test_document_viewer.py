"""The document viewer: the DSL sees both copies before confirming; nobody else sees originals."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from flow import complete, partner_id, post
from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from sqlalchemy import select
from totp_kit import acting, enrol
from transfer_kit import OTHER_CHILD
from web_kit import World, sign_in

from exchange.audit.models import AuditEntry
from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Pupil, VaultDocument
from exchange.transfers.models import OUTGOING, RedactionReview, Transfer
from exchange.transfers.openings import DocumentOpening
from exchange.vault.pupil_keys import blob_context, pupil_data_key

REFUSED = "Open the document in the viewer before you confirm it"
IMG = re.compile(r'<img src="([^"]+)"[^>]*? alt="([^"]+)"')


def scanned_pdf() -> bytes:
    """Return a one-page PDF that is only a picture of scribbled lines (no text layer)."""
    picture = Image.new("RGB", (400, 200), "white")
    draw = ImageDraw.Draw(picture)
    for row in range(6):
        draw.line((20, 30 + 28 * row, 380, 40 + 26 * row), fill="black", width=3)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.drawImage(ImageReader(io.BytesIO(buffer.getvalue())), 72, 500, 400, 200)
    page.showPage()
    page.save()
    return out.getvalue()


def add_scan(instance: Instance, pupil_id: int) -> None:
    """Give the child a scanned letter in the vault: the redactor flags it for a person."""
    add_document(instance, pupil_id, scanned_pdf(), "application/pdf", "scanned-letter.pdf")


def add_document(
    instance: Instance, pupil_id: int, data: bytes, media_type: str, name: str
) -> None:
    """Put a document in the child's vault."""
    with transaction(instance.sessions) as session:
        pupil = session.get(Pupil, pupil_id)
        key = pupil_data_key(session, pupil, instance.instance_key)
        blob = instance.blobs.write(key, blob_context(pupil), io.BytesIO(data), 10**7)
        session.add(
            VaultDocument(
                school_id=pupil.school_id,
                pupil_id=pupil.id,
                original_filename=name,
                media_type=media_type,
                size=blob.size,
                sha256=blob.sha256,
                storage_key=blob.storage_key,
            )
        )


def start_review(client: FlaskClient, instance: Instance, world: World) -> int:
    """Start a transfer of the child's file and run the redaction review; return its id."""
    post(
        client,
        f"/transfers/new/{world.pupil_id}",
        {"partner_id": str(partner_id(instance, world.sender_id, world.receiver_id))},
    )
    with instance.sessions() as session:
        transfer_id = session.scalar(
            select(Transfer.id).where(
                Transfer.school_id == world.sender_id, Transfer.direction == OUTGOING
            )
        )
    post(client, f"/transfers/{transfer_id}/review")
    return transfer_id


def document_reviews(instance: Instance, transfer_id: int) -> dict[str, int]:
    """Return the document reviews of a transfer: "flagged" (the scan) and "clean" (minutes)."""
    with instance.sessions() as session:
        found = session.scalars(
            select(RedactionReview).where(
                RedactionReview.transfer_id == transfer_id, RedactionReview.kind == "document"
            )
        ).all()
        return {("flagged" if r.flagged else "clean"): r.id for r in found}


def audit_events(instance: Instance, event: str) -> list[AuditEntry]:
    """Return the audit entries of one event."""
    with instance.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.event == event)))


@pytest.fixture
def dsl(app: Flask, instance: Instance, world: World) -> FlaskClient:
    """Return the sending DSL's browser, signed in, with a scan in the child's vault."""
    add_scan(instance, world.pupil_id)
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    return client


def test_the_viewer_shows_both_copies_with_the_removal_boxed_and_audits_each_page(
    dsl: FlaskClient, instance: Instance, world: World
) -> None:
    transfer_id = start_review(dsl, instance, world)
    clean = document_reviews(instance, transfer_id)["clean"]
    listing = dsl.get(f"/transfers/{transfer_id}/redactions").get_data(as_text=True)
    viewer = f"/transfers/{transfer_id}/redactions/{clean}/viewer"
    assert f'href="{viewer}"' in listing
    page = dsl.get(viewer)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    images = IMG.findall(body)
    assert [alt for _src, alt in images] == [
        "Original page 1, boxed: R1",
        "Redacted page 1, boxed: R1",
    ]
    assert "1 in the report; 1 boxed on the pages" in body
    for src, _alt in images:
        picture = dsl.get(src)
        assert picture.status_code == 200
        assert picture.mimetype == "image/png"
        assert picture.headers["Cache-Control"] == "no-store"
        assert Image.open(io.BytesIO(picture.data)).size == (827, 1170)
    assert dsl.get(images[0][0].replace("/1", "/2")).status_code == 404
    assert dsl.get(images[0][0].replace("original", "source")).status_code == 404
    pages = audit_events(instance, "document.page_viewed")
    assert len(pages) == 2
    assert {entry.object_id for entry in pages} == {str(clean)}
    for entry in pages + audit_events(instance, "document.opened"):
        assert OTHER_CHILD[1].encode() not in entry.canonical
        assert b"minutes" not in entry.canonical


def test_confirming_a_document_nobody_opened_is_refused_until_it_is_opened(
    dsl: FlaskClient, instance: Instance, world: World
) -> None:
    transfer_id = start_review(dsl, instance, world)
    flagged = document_reviews(instance, transfer_id)["flagged"]
    listing = dsl.get(f"/transfers/{transfer_id}/redactions").get_data(as_text=True)
    assert "Open it before you confirm it." in listing
    confirm = {"review_id": str(flagged), "resolution": "confirmed", "note": "Looked at it"}
    refused = post(dsl, f"/transfers/{transfer_id}/redactions", confirm, status=400)
    assert REFUSED in refused
    with instance.sessions() as session:
        assert session.get(RedactionReview, flagged).resolution is None

    viewer = dsl.get(f"/transfers/{transfer_id}/redactions/{flagged}/viewer")
    body = viewer.get_data(as_text=True)
    assert "read it by eye" in body
    assert 'alt="Original page 1, boxed: F1"' in body
    with instance.sessions() as session:
        [opening] = session.scalars(select(DocumentOpening)).all()
        assert (opening.review_id, opening.user_id) == (flagged, world.user("sender", "dsl"))
    # Another DSL of the same school has not opened it: the refusal is per person.
    deputy = dsl.application.test_client()
    sign_in(deputy, instance, world.user("sender", "deputy_dsl"))
    assert REFUSED in post(deputy, f"/transfers/{transfer_id}/redactions", confirm, status=400)
    post(dsl, f"/transfers/{transfer_id}/redactions", confirm)
    with instance.sessions() as session:
        assert session.get(RedactionReview, flagged).resolution == "confirmed"


def test_the_viewer_asks_a_decision_on_each_uncertain_hit_before_confirming(
    dsl: FlaskClient, instance: Instance, world: World
) -> None:
    transfer_id = start_review(dsl, instance, world)
    flagged = document_reviews(instance, transfer_id)["flagged"]
    viewer = f"/transfers/{transfer_id}/redactions/{flagged}/viewer"
    assert 'name="hit-F1"' in dsl.get(viewer).get_data(as_text=True)
    undecided = post(dsl, viewer, {"note": "Read the scan"}, status=400)
    assert "Decide F1: keep it, or say it must go" in undecided
    must_go = post(dsl, viewer, {"note": "Read the scan", "hit-F1": "remove"}, status=400)
    assert "exclude the document or upload a redacted replacement" in must_go
    with instance.sessions() as session:
        assert session.get(RedactionReview, flagged).resolution is None
    post(dsl, viewer, {"note": "Read the scan", "hit-F1": "keep"})
    with instance.sessions() as session:
        review = session.get(RedactionReview, flagged)
        assert review.resolution == "confirmed"
        assert review.resolution_note == "Read the scan (checked in the viewer; kept F1)"
    assert len(audit_events(instance, "document.hits_decided")) == 1


def test_confirming_on_the_command_line_needs_the_document_opened_too(
    dsl: FlaskClient, instance: Instance, world: World, cli_env: dict[str, str]
) -> None:
    transfer_id = start_review(dsl, instance, world)
    flagged = document_reviews(instance, transfer_id)["flagged"]
    with instance.sessions() as session:
        reference = session.get(Transfer, transfer_id).transfer_uid[:8]
    enrol(instance, "dsl1@example.org")

    def resolve() -> object:
        return CliRunner().invoke(
            main,
            [
                "--school",
                "990101",
                "transfers",
                "resolve",
                reference,
                str(flagged),
                "--resolution",
                "confirmed",
                "--note",
                "Read the scan",
                *acting(instance, "dsl1@example.org"),
            ],
            env=cli_env,
        )

    refused = resolve()
    assert refused.exit_code == 1  # type: ignore[attr-defined]
    assert REFUSED in refused.output  # type: ignore[attr-defined]
    sign_in(dsl, instance, world.user("sender", "dsl"))
    assert dsl.get(f"/transfers/{transfer_id}/redactions/{flagged}/viewer").status_code == 200
    accepted = resolve()
    assert accepted.exit_code == 0, accepted.output  # type: ignore[attr-defined]
    assert f"review {flagged} confirmed" in accepted.output  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("school", "role", "status"),
    [("sender", "dpo", 403), ("sender", "admin", 403), ("receiver", "dsl", 404)],
)
def test_only_the_sending_schools_dsls_see_the_original(
    dsl: FlaskClient,
    instance: Instance,
    world: World,
    school: str,
    role: str,
    status: int,
) -> None:
    transfer_id = start_review(dsl, instance, world)
    clean = document_reviews(instance, transfer_id)["clean"]
    base = f"/transfers/{transfer_id}/redactions/{clean}"
    other = dsl.application.test_client()
    sign_in(other, instance, world.user(school, role))
    for url in (f"{base}/viewer", f"{base}/pages/original/1", f"{base}/pages/redacted/1"):
        response = other.get(url)
        assert response.status_code == status, url
        assert response.mimetype != "image/png"
    assert audit_events(instance, "document.page_viewed") == []


def test_the_receiving_dsl_sees_only_what_was_delivered(
    app: Flask, dsl: FlaskClient, instance: Instance, world: World
) -> None:
    transfer_id = start_review(dsl, instance, world)
    flagged = document_reviews(instance, transfer_id)["flagged"]
    post(
        dsl,
        f"/transfers/{transfer_id}/redactions",
        {"review_id": str(flagged), "resolution": "excluded", "note": "Not needed"},
    )
    post(dsl, f"/transfers/{transfer_id}/offer")
    receiver = app.test_client()
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    received_id = complete(dsl, receiver, instance, world.receiver_id, transfer_id)
    page = receiver.get(f"/transfers/{received_id}").get_data(as_text=True)
    assert f'href="/transfers/{received_id}/received"' in page
    listing = receiver.get(f"/transfers/{received_id}/received").get_data(as_text=True)
    links = re.findall(rf'href="(/transfers/{received_id}/received/\d+)"', listing)
    assert "Chronology" in listing
    assert len(links) == 2  # The chronology and the redacted minutes; the scan was excluded.
    for link in links:
        body = receiver.get(link).get_data(as_text=True)
        images = IMG.findall(body)
        assert images
        for src, _alt in images:
            picture = receiver.get(src)
            assert picture.mimetype == "image/png"
            assert picture.headers["Cache-Control"] == "no-store"
    # The sending school cannot open the receiver's copies, nor the receiver the sender's.
    assert dsl.get(links[0]).status_code == 404
    clean = document_reviews(instance, transfer_id)["clean"]
    viewer = f"/transfers/{transfer_id}/redactions/{clean}/pages/original/1"
    assert receiver.get(viewer).status_code == 404
    dpo = app.test_client()
    sign_in(dpo, instance, world.user("receiver", "dpo"))
    assert dpo.get(links[0]).status_code == 403
    received = audit_events(instance, "document.page_viewed")
    assert {entry.object_type for entry in received} == {"vault_document"}


def test_an_email_original_is_shown_converted_beside_its_redacted_copy(
    app: Flask, instance: Instance, world: World
) -> None:
    message = (
        "From: office@example.org\r\nTo: dsl@example.org\r\nSubject: Break time\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{OTHER_CHILD[0]} {OTHER_CHILD[1]} was seen at the gate.\r\n"
    ).encode()
    add_document(instance, world.pupil_id, message, "message/rfc822", "note.eml")
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    transfer_id = start_review(client, instance, world)
    with instance.sessions() as session:
        review = session.scalar(
            select(RedactionReview)
            .join(VaultDocument, VaultDocument.id == RedactionReview.object_id)
            .where(RedactionReview.kind == "document", VaultDocument.media_type == "message/rfc822")
        )
        review_id, redacted = review.id, review.redacted_storage_key
    assert redacted, "the email was converted and redacted"
    body = client.get(f"/transfers/{transfer_id}/redactions/{review_id}/viewer").get_data(
        as_text=True
    )
    assert "converted to PDF to be shown" in body
    assert [alt for _src, alt in IMG.findall(body)][:2] == [
        "Original page 1, boxed: R1",
        "Redacted page 1, boxed: R1",
    ]
    for src, _alt in IMG.findall(body)[:2]:
        assert client.get(src).mimetype == "image/png"
