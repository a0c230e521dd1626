"""In Chromium, the departing DSL's day with a Word document and a scan in the child's vault.

The Word file is written by python-docx and converted by LibreOffice in the redactor; the scan
is a page rendered by Ghostscript. Both name the child, another child, and a teacher who shares
the other child's surname. The DSL opens each in the viewer, confirms, and authorises; what
travels is read back with poppler and tesseract, not with our code.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas
from sqlalchemy import select
from test_browser import _confirm_if_asked, _shot, _sign_in, browser, server  # noqa: F401
from test_document_viewer import add_document, add_scan
from transfer_kit import OTHER_CHILD
from web_kit import World, give_credentials

from exchange.instance import Instance
from exchange.transfers.models import OUTGOING, RedactionReview, Transfer
from exchange.vault.pupil_keys import blob_context, pupil_data_key
from tests.redaction.producers import docx_file, ghostscript_render, ocr_pdf
from tests.redaction.tools import pdftotext, plain

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FORENAME, SURNAME = OTHER_CHILD
LINES = [
    "Meeting notes for Maisie Thornbury",
    f"{FORENAME} {SURNAME} was in the room at the time.",
    f"Mr Daniel {SURNAME} (class teacher) took the notes.",
]


def _scan(folder: Path) -> bytes:
    """Return a page of the notes typed with ReportLab and scanned by Ghostscript (PNG)."""
    typed = folder / "typed.pdf"
    page = canvas.Canvas(str(typed), pagesize=(595, 842))
    page.setFont("Helvetica", 14)
    for index, line in enumerate(LINES):
        page.drawString(72, 760 - 30 * index, line)
    page.save()
    return ghostscript_render(typed, folder / "scan.png", "pnggray", 300).read_bytes()


def _redacted_copies(instance: Instance, folder: Path) -> list[Path]:
    """Write each document's redacted copy, as the bundle holds it, to a file."""
    from exchange.records.models import Pupil

    paths = []
    with instance.sessions() as session:
        reviews = session.scalars(
            select(RedactionReview).where(RedactionReview.kind == "document")
        ).all()
        for review in reviews:
            transfer = session.get(Transfer, review.transfer_id)
            pupil = session.get(Pupil, transfer.pupil_id)
            key = pupil_data_key(session, pupil, instance.instance_key)
            data = instance.blobs.read_all(key, blob_context(pupil), review.redacted_storage_key)
            path = folder / f"redacted-{review.object_id}.pdf"
            path.write_bytes(data)
            paths.append(path)
    return paths


def test_the_dsl_sends_a_word_document_and_a_scan_after_seeing_both(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    instance: Instance,
    world: World,
    tmp_path: Path,
) -> None:
    word = docx_file(tmp_path / "notes.docx", LINES)
    add_document(
        instance,
        world.pupil_id,
        word.read_bytes(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "notes.docx",
    )
    add_document(instance, world.pupil_id, _scan(tmp_path), "image/png", "scan.png")
    add_scan(instance, world.pupil_id)  # Scribbles OCR cannot read: flagged for the DSL.
    for school in ("sender", "receiver"):
        give_credentials(instance, world.user(school, "dsl"))
    dsl = _sign_in(browser, server, "dsl1@example.org")
    dsl.get_by_role("link", name="Maisie Thornbury").click()
    dsl.get_by_role("button", name="Start a transfer").click()
    dsl.get_by_role("button", name="Redact and review").click()
    with instance.sessions() as session:
        transfer_id = session.scalar(select(Transfer.id).where(Transfer.direction == OUTGOING))
        reviews = session.scalars(
            select(RedactionReview).where(RedactionReview.kind == "document")
        ).all()
        documents = {review.object_id: review for review in reviews}
    # The minutes PDF, the Word document, the typed scan and the scribbled one.
    assert len(documents) == 4
    assert all(review.redacted_storage_key for review in documents.values())
    assert [review.flagged for _, review in sorted(documents.items())] == [
        False,
        False,
        False,
        True,
    ]
    _shot(dsl, "word-scan-01-review")

    confirmed = 0
    for number, review in sorted(documents.items()):
        dsl.goto(f"{server}/transfers/{transfer_id}/redactions/{review.id}/viewer")
        assert dsl.get_by_role("heading", name=f"Document {number}: original and redacted")
        for side in ("Original", "Redacted"):
            picture = dsl.get_by_role("img", name=f"{side} page 1")
            picture.scroll_into_view_if_needed()
            assert picture.evaluate("(img) => img.decode().then(() => img.naturalWidth)") > 0
        # Each name removed is boxed where it was, burned from the scan's pixels included.
        counts = re.search(r"(\d+) in the report; (\d+) boxed", dsl.content())
        assert counts is not None
        assert counts.group(1) == counts.group(2)
        assert review.flagged or counts.group(1) != "0"
        _shot(dsl, f"word-scan-02-viewer-{number}")
        if review.flagged:
            for choice in dsl.get_by_label("no other child is named here").all():
                choice.check()
            dsl.get_by_label("What you checked").fill("Read both copies side by side")
            dsl.get_by_role("button", name="Confirm the redaction").click()
            assert dsl.get_by_role("heading", name="Review redactions").is_visible()
            assert dsl.locator(f"#review-{review.id}").get_by_text("Confirmed").is_visible()
            confirmed += 1
    assert confirmed == 1

    dsl.goto(f"{server}/transfers/{transfer_id}")
    dsl.get_by_role("button", name="Send the offer to Flow School 2").click()
    receiver = _sign_in(browser, server, "dsl2@example.org")
    receiver.goto(f"{server}/transfers")
    receiver.locator("table").first.get_by_role("link").first.click()
    receiver.get_by_label("Accept the file").check()
    receiver.get_by_label("I confirm ").check()
    receiver.get_by_role("button", name="Send answer").click()
    dsl.reload()
    dsl.get_by_role("link", name="Record the DSL conversation").click()
    dsl.get_by_label("Date of the conversation").fill(time.strftime("%Y-%m-%d"))
    dsl.get_by_label("Who took part").fill("Dsl 1, Dsl 2")
    dsl.get_by_label("Summary of the child's needs").fill("Needs a trusted adult at break.")
    dsl.get_by_role("button", name="Save conversation").click()
    dsl.get_by_role("link", name="Authorise").click()
    _confirm_if_asked(dsl)
    dsl.get_by_label("I authorise sending this file").check()
    dsl.get_by_role("button", name="Authorise and send").click()
    assert dsl.get_by_role("heading", name="Transfer authorised").is_visible()
    _shot(dsl, "word-scan-03-authorised")

    # What travelled, read by tools we did not write: the teacher stays, the child is gone.
    for path in _redacted_copies(instance, tmp_path):
        seen = ocr_pdf(path, tmp_path) + plain(pdftotext(path))
        assert plain(FORENAME) not in seen
        assert seen.count(plain(SURNAME)) <= seen.count("class teacher")
    word_copy = plain(pdftotext(tmp_path / f"redacted-{sorted(documents)[1]}.pdf"))
    assert f"mr daniel {plain(SURNAME)} (class teacher)" in word_copy
    scan_seen = ocr_pdf(tmp_path / f"redacted-{sorted(documents)[2]}.pdf", tmp_path)
    assert f"daniel {plain(SURNAME)} (class teacher)" in scan_seen
