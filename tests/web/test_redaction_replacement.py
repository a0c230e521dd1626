"""Replace a flagged document with a redacted PDF: only a PDF, not too big, checked again."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flow import partner_id, post
from sqlalchemy import select
from transfer_kit import OTHER_CHILD, make_pdf
from web_kit import World, sign_in

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Pupil, VaultDocument
from exchange.transfers.models import OUTGOING, RedactionReview, Transfer
from exchange.vault.pupil_keys import blob_context, pupil_data_key
from exchange.web import transfer_pages
from tests.redaction.producers import handwriting_image, image_pdf


def scanned_pdf() -> bytes:
    """Return a one-page PDF of a handwritten note: OCR cannot read it, so it is flagged."""
    return image_pdf(handwriting_image())


def add_scanned_document(instance: Instance, pupil_id: int) -> None:
    """Give the child a scanned letter in the vault."""
    with transaction(instance.sessions) as session:
        pupil = session.get(Pupil, pupil_id)
        key = pupil_data_key(session, pupil, instance.instance_key)
        blob = instance.blobs.write(key, blob_context(pupil), io.BytesIO(scanned_pdf()), 10**7)
        session.add(
            VaultDocument(
                school_id=pupil.school_id,
                pupil_id=pupil.id,
                original_filename="scanned-letter.pdf",
                media_type="application/pdf",
                size=blob.size,
                sha256=blob.sha256,
                storage_key=blob.storage_key,
            )
        )


def _flagged_document(client, instance: Instance, world: World) -> tuple[int, int]:
    add_scanned_document(instance, world.pupil_id)
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
    with instance.sessions() as session:
        review_id = session.scalar(
            select(RedactionReview.id).where(
                RedactionReview.transfer_id == transfer_id,
                RedactionReview.kind == "document",
                RedactionReview.flagged.is_(True),
            )
        )
    assert review_id is not None
    return transfer_id, review_id


def _reviews(instance: Instance, transfer_id: int) -> list[tuple[str, bool, str | None]]:
    with instance.sessions() as session:
        return [
            (r.kind, r.flagged, r.resolution)
            for r in session.scalars(
                select(RedactionReview)
                .where(RedactionReview.transfer_id == transfer_id)
                .order_by(RedactionReview.kind)
            )
        ]


def _upload(client, transfer_id: int, review_id: int, data: bytes, status: int) -> str:
    return post(
        client,
        f"/transfers/{transfer_id}/redactions",
        {
            "review_id": str(review_id),
            "resolution": "replaced",
            "note": "Redacted by hand in the PDF editor",
            "replacement": (io.BytesIO(data), "minutes-redacted.pdf"),  # type: ignore[dict-item]
        },
        status=status,
    )


def test_a_flagged_document_is_replaced_by_a_redacted_pdf(
    app: Flask, instance: Instance, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    transfer_id, review_id = _flagged_document(client, instance, world)
    page = client.get(f"/transfers/{transfer_id}/redactions").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert f'id="replace-{review_id}"' in page
    before = _reviews(instance, transfer_id)

    field = f"replacement-{review_id}"
    not_pdf = _upload(client, transfer_id, review_id, b"<html>not a pdf</html>", 400)
    assert f'id="{field}-error"' in not_pdf
    assert "must be a PDF" in not_pdf
    assert f'href="#{field}"' in not_pdf

    monkeypatch.setattr(transfer_pages, "MAX_REPLACEMENT_BYTES", 100)
    too_big = _upload(client, transfer_id, review_id, b"%PDF-1.4" + b" " * 200, 400)
    assert "must be smaller than" in too_big
    monkeypatch.undo()

    nothing = post(
        client,
        f"/transfers/{transfer_id}/redactions",
        {"review_id": str(review_id), "resolution": "replaced", "note": "x"},
        status=400,
    )
    assert "Choose the redacted PDF" in nothing
    assert _reviews(instance, transfer_id) == before

    # The replacement is redacted and checked again like the original: a name left in it goes.
    still_named = make_pdf(["Core group minutes", f"{OTHER_CHILD[0]} {OTHER_CHILD[1]} was there."])
    _upload(client, transfer_id, review_id, still_named, 302)
    with instance.sessions() as session:
        document = session.scalar(
            select(RedactionReview)
            .where(RedactionReview.transfer_id == transfer_id, RedactionReview.kind == "document")
            .order_by(RedactionReview.id.desc())
        )
        assert document.resolution == "replaced"
        assert document.redacted_storage_key
        assert document.report["removed"]
        assert not document.blocks_authorisation
