"""A transfer's redaction step reads every kind of vault document: nothing is "check by hand"."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select
from transfer_kit import (
    OTHER_CHILD,
    Pair,
    child_with_records,
    introduce,
    offer_transfer,
    school_with_keys,
)

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Pupil, User, VaultDocument
from exchange.transfers.models import RedactionReview, Transfer
from exchange.vault.pupil_keys import blob_context, pupil_data_key
from tests.redaction.producers import docx_file, ocr_pdf, text_image
from tests.redaction.tools import pdftotext, plain

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def pair(instance: Instance) -> Pair:
    """Two schools that trust each other, the first with a leaving child and their records."""
    url = instance.config["PUBLIC_URL"]
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        introduce(session, sender, receiver, url)
        introduce(session, receiver, sender, url)
        subject, other = child_with_records(session, instance, sender)
        dsl = lambda school: session.scalar(select(User).filter_by(school_id=school.id, role="dsl"))  # noqa: E731
        return Pair(sender.id, receiver.id, dsl(sender).id, dsl(receiver).id, subject.id, other.id)


def _attach(instance: Instance, pair: Pair, content: bytes, media_type: str, name: str) -> None:
    with transaction(instance.sessions) as session:
        child = session.get(Pupil, pair.pupil_id)
        key = pupil_data_key(session, child, instance.instance_key)
        blob = instance.blobs.write(key, blob_context(child), io.BytesIO(content), 10**7)
        session.add(
            VaultDocument(
                school_id=child.school_id,
                pupil_id=child.id,
                original_filename=name,
                media_type=media_type,
                size=blob.size,
                sha256=blob.sha256,
                storage_key=blob.storage_key,
            )
        )


@pytest.mark.slow
def test_word_and_photo_documents_are_redacted_into_pdfs(instance, pair, tmp_path):
    name = " ".join(OTHER_CHILD)
    docx = docx_file(tmp_path / "w.docx", [f"Meeting notes: {name} was in the playground."])
    _attach(instance, pair, docx.read_bytes(), DOCX, "notes.docx")
    photo = io.BytesIO()
    text_image([f"Note: {name} cried at lunch."]).save(photo, "JPEG", dpi=(200, 200))
    _attach(instance, pair, photo.getvalue(), "image/jpeg", "note.jpg")
    transfer_id, _uid, _offer = offer_transfer(instance, pair)
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        child = session.get(Pupil, pair.pupil_id)
        key = pupil_data_key(session, child, instance.instance_key)
        documents = session.scalars(
            select(RedactionReview).where(
                RedactionReview.transfer_id == transfer.id, RedactionReview.kind == "document"
            )
        ).all()
        kinds = sorted(review.report["kind"] for review in documents)
        assert kinds == ["image", "office", "pdf"]
        for review in documents:
            assert review.redacted_storage_key, review.report
            assert review.report["status"] == "clean", review.report
            assert not any("check by hand" in str(f) for f in review.report["flags"])
            data = instance.blobs.read_all(key, blob_context(child), review.redacted_storage_key)
            path = tmp_path / f"{review.object_id}.pdf"
            path.write_bytes(data)
            assert data.startswith(b"%PDF-")
            shown = _ocr_and_text(path, tmp_path)
            assert "pemberton" not in shown
            assert "ollie" not in shown


def _ocr_and_text(path: Path, tmp: Path) -> str:
    return plain(pdftotext(path)) + "\n" + ocr_pdf(path, tmp)
