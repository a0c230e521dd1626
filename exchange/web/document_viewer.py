"""The document viewer: a document's original and redacted pages side by side, as pictures.

Pages are rendered on the server (exchange.redaction.page_images) with every removal and
every flag boxed on them; the browser only shows PNGs (no PDF.js, no script). The sending
school's DSLs see the original beside the redacted copy before they confirm anything (the
workflow refuses to confirm a document its DSL has not opened here); the receiving school's
DSLs see only the files that were delivered. Every page served is audited, by ids only.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from exchange.errors import ValidationError
from exchange.records.models import Pupil, VaultDocument
from exchange.redaction import page_images
from exchange.redaction.page_images import FLAGGED, IMAGE_FLAGS, REMOVED, UNCERTAIN, Mark
from exchange.transfers.models import INCOMING, OUTGOING, RedactionReview, Transfer
from exchange.transfers.openings import has_opened, record_opening
from exchange.vault.pupil_keys import blob_context, pupil_data_key
from exchange.web.access import audit_view, current_user, db, instance, own, requires
from exchange.web.transfer_pages import _act, _possible_actions

document_viewer = Blueprint("document_viewer", __name__, url_prefix="/transfers")

SIDES = ("original", "redacted")
FLAG_WORDS = {
    "image_only_page": "The page is a scan or picture: read it by eye",
    "image_may_contain_text": "A picture may contain a name: read it by eye",
    "image_unreadable": "A picture could not be decoded: read it by eye",
    "no_readable_text": "OCR cannot read part of a picture (handwriting, a scan): read it by eye",
    "visual_check_not_run": "The check of the rendered pages did not run: read every page",
    "possible_name": "A word may be a name: decide whether it goes",
    "unmapped_glyphs": "Some text could not be read by the redactor: read it by eye",
    "content_unreadable": "Part of the page could not be read: read it by eye",
    "embedded_file_removed": "An attached file was removed",
}
# Marks depend only on the document, its redacted copy and its report: keep a few in memory
# (boxes and labels, never text) so each page picture does not search the whole file again.
_MARKS: OrderedDict[tuple[object, ...], list[Mark]] = OrderedDict()
_MARKS_KEPT = 32
# A Word or email original is converted to PDF to be shown (seconds with LibreOffice): the last
# few conversions are kept in this process's memory only, never on disk, for their page pictures.
_CONVERTED: OrderedDict[tuple[object, ...], tuple[bytes, str, bool]] = OrderedDict()
_CONVERTED_KEPT = 4


@dataclass
class Side:
    """One column of the viewer: a file, whether it can be shown, and how many pages."""

    name: str
    data: bytes | None
    media_type: str
    pages: int = 0
    problem: str | None = None
    converted: bool = False

    @property
    def shown(self) -> int:
        """Return how many pages the viewer shows (the cap applies)."""
        return min(self.pages, page_images.MAX_PAGES)


def _sent(transfer_id: int, review_id: int) -> tuple[Transfer, RedactionReview, VaultDocument]:
    transfer = own(Transfer, transfer_id)
    review = own(RedactionReview, review_id)
    if (
        transfer.direction != OUTGOING
        or review.transfer_id != transfer.id
        or review.kind != "document"
        or transfer.pupil_id is None
    ):
        abort(404)
    return transfer, review, own(VaultDocument, review.object_id)


def _read(pupil: Pupil, storage_key: str) -> bytes:
    key = pupil_data_key(db(), pupil, instance().instance_key)
    return instance().blobs.read_all(key, blob_context(pupil), storage_key)


def _side(name: str, data: bytes | None, media_type: str) -> Side:
    side = Side(name, data, media_type)
    if data is None:
        side.problem = "There is no redacted copy: the redactor could not make a safe one"
    elif not page_images.can_render(media_type):
        side.problem = "This kind of file cannot be shown as pages"
    else:
        try:
            side.pages = page_images.page_count(data, media_type)
        except ValidationError as error:
            side.problem = error.message[:1].upper() + error.message[1:]
    return side


def _sides(review: RedactionReview, document: VaultDocument) -> tuple[Side, Side]:
    pupil = own(Pupil, document.pupil_id)
    original = _original(document, _read(pupil, document.storage_key))
    redacted_data = (
        _read(pupil, review.redacted_storage_key) if review.redacted_storage_key else None
    )
    return original, _side("redacted", redacted_data, page_images.PDF)


def _original(document: VaultDocument, data: bytes) -> Side:
    """Return the original as pages: a Word, email or text document converted to PDF first."""
    key = (document.school_id, document.id, document.sha256)
    shown = _CONVERTED.get(key)
    if shown is None:
        try:
            shown = page_images.as_pages(data, document.media_type, document.original_filename)
        except ValidationError as error:
            problem = error.message[:1].upper() + error.message[1:]
            return Side("original", None, document.media_type, problem=problem)
        if shown[2]:
            _CONVERTED[key] = shown
            while len(_CONVERTED) > _CONVERTED_KEPT:
                _CONVERTED.popitem(last=False)
    else:
        _CONVERTED.move_to_end(key)
    side = _side("original", shown[0], shown[1])
    side.converted = shown[2]
    return side


def _marks(review: RedactionReview, document: VaultDocument, original: Side) -> list[Mark]:
    """Return the boxes to draw: names found in the original, pictures flagged, report boxes."""
    report = review.report or {}
    digest = hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()
    key = (review.school_id, review.id, document.sha256, review.redacted_sha256, digest)
    if key in _MARKS:
        _MARKS.move_to_end(key)
        return _MARKS[key]
    marks = page_images.report_marks(report)
    if original.data is not None and original.media_type == page_images.PDF and original.pages:
        marks += page_images.locate_names(original.data, _matcher(document), original.shown)
        boxed = page_images.boxed_pages(report)
        image_pages = [
            flag["page"]
            for flag in report.get("flags") or []
            if isinstance(flag, dict)
            and flag.get("reason") in IMAGE_FLAGS
            and isinstance(flag.get("page"), int)
            and flag["page"] not in boxed
        ]
        marks += page_images.locate_images(original.data, image_pages)
    marks = page_images.relabel(marks)
    _MARKS[key] = marks
    while len(_MARKS) > _MARKS_KEPT:
        _MARKS.popitem(last=False)
    return marks


def _matcher(document: VaultDocument):  # type: ignore[no-untyped-def]
    from exchange.redaction.matcher import Matcher
    from exchange.redaction.names import build_match_set
    from exchange.transfers.people import people_to_consider, pupil_person_id

    pupil = own(Pupil, document.pupil_id)
    people = people_to_consider(db(), pupil)
    return Matcher(build_match_set(people, pupil_person_id(pupil.id)))


def _page_flags(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the report's flags in words, with their page (never a name: reports hold none)."""
    flags = []
    for flag in report.get("flags") or []:
        if not isinstance(flag, dict):
            continue
        reason = str(flag.get("reason") or "")
        words = FLAG_WORDS.get(reason, reason.replace("_", " ").capitalize())
        flags.append({"page": flag.get("page"), "words": words})
    return flags


def _uncertain(marks: list[Mark]) -> list[Mark]:
    return [mark for mark in marks if mark.kind in (UNCERTAIN, FLAGGED)]


@document_viewer.route("/<int:transfer_id>/redactions/<int:review_id>/viewer", methods=["GET"])
@requires("view_narrative")
def sent(transfer_id: int, review_id: int) -> Any:
    """Show a document's original and redacted pages side by side, every hit boxed."""
    transfer, review, document = _sent(transfer_id, review_id)
    return _sent_page(transfer, review, document, {})


def _sent_page(
    transfer: Transfer, review: RedactionReview, document: VaultDocument, errors: dict[str, str]
) -> Any:
    original, redacted = _sides(review, document)
    marks = _marks(review, document, original)
    user = current_user()
    assert user is not None
    shown = original.shown or redacted.shown
    if shown:
        record_opening(db(), review, user.id)
        audit_view(
            "document.opened",
            "redaction_review",
            review.id,
            pages=max(original.pages, redacted.pages),
        )
    deciding = (
        review.blocks_authorisation
        and review.report.get("status") != "blocked"
        and review.redacted_storage_key is not None
        and shown > 0
        and "resolve_flag" in _possible_actions(transfer)
    )
    return render_template(
        "transfers/viewer.html",
        transfer=transfer,
        review=review,
        document=document,
        sides=(original, redacted),
        pages=range(1, max(original.shown, redacted.shown) + 1),
        more=max(original.pages, redacted.pages) > page_images.MAX_PAGES,
        max_pages=page_images.MAX_PAGES,
        marks=marks,
        counts={kind: sum(m.kind == kind for m in marks) for kind in (REMOVED, UNCERTAIN)},
        flags=_page_flags(review.report or {}),
        uncertain=_uncertain(marks),
        opened=bool(shown) or has_opened(db(), review, user.id),
        deciding=deciding,
        errors=errors,
        form=request.form,
    ), (400 if errors else 200)


@document_viewer.route("/<int:transfer_id>/redactions/<int:review_id>/viewer", methods=["POST"])
@requires("manage_transfers")
def decide(transfer_id: int, review_id: int) -> Any:
    """Decide each uncertain hit, then confirm the redaction of the whole document."""
    transfer, review, document = _sent(transfer_id, review_id)
    original, _redacted = _sides(review, document)
    uncertain = _uncertain(_marks(review, document, original))
    errors: dict[str, str] = {}
    chosen = {mark.label: request.form.get(f"hit-{mark.label}", "") for mark in uncertain}
    for label, choice in chosen.items():
        if choice not in ("keep", "remove"):
            errors[f"hit-{label}"] = f"Decide {label}: keep it, or say it must go"
    note = request.form.get("note", "").strip()
    if not note:
        errors["note"] = "Enter what you checked"
    if not errors and "remove" in chosen.values():
        errors["decision"] = (
            "A hit you marked must go is still in this document: exclude the document or "
            "upload a redacted replacement on the review page"
        )
    if not errors:
        kept = ", ".join(label for label, choice in chosen.items() if choice == "keep")
        message = _act(
            transfer,
            "resolve_flag",
            review_id=review.id,
            resolution="confirmed",
            note=f"{note} (checked in the viewer{'; kept ' + kept if kept else ''})",
        )
        if not message:
            audit_view("document.hits_decided", "redaction_review", review.id, kept=len(chosen))
            return redirect(url_for("transfer_pages.redactions", transfer_id=transfer.id))
        errors["decision"] = message[:1].upper() + message[1:]
    return _sent_page(transfer, review, document, errors)


@document_viewer.route("/<int:transfer_id>/redactions/<int:review_id>/pages/<side>/<int:page>")
@requires("view_narrative")
def sent_page_image(transfer_id: int, review_id: int, side: str, page: int) -> Any:
    """Return one page of the original or the redacted copy as a PNG, its hits boxed."""
    if side not in SIDES:
        abort(404)
    _transfer, review, document = _sent(transfer_id, review_id)
    original, redacted = _sides(review, document)
    chosen = original if side == "original" else redacted
    if chosen.problem or not 1 <= page <= chosen.shown:
        abort(404)
    marks = _marks(review, document, original)
    png = page_images.render_page(chosen.data or b"", chosen.media_type, page, marks)
    audit_view("document.page_viewed", "redaction_review", review.id, side=side, page=page)
    return _png(png)


def _png(data: bytes) -> Response:
    response = Response(data, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = "inline"
    return response


@document_viewer.app_template_global("opened_in_viewer")
def opened_in_viewer(review: RedactionReview) -> bool:
    """Return whether the signed-in user has opened this review's document in the viewer."""
    user = current_user()
    return user is not None and has_opened(db(), review, user.id)


# The receiving school: only what was delivered (the redacted files and the chronology).


def _incoming(transfer_id: int) -> Transfer:
    transfer = own(Transfer, transfer_id)
    if transfer.direction != INCOMING or transfer.pupil_id is None:
        abort(404)
    return transfer


def _received_documents(transfer: Transfer) -> list[VaultDocument]:
    return list(
        db().scalars(
            select(VaultDocument)
            .where(
                VaultDocument.school_id == transfer.school_id,
                VaultDocument.pupil_id == transfer.pupil_id,
                VaultDocument.source_id.startswith(f"{transfer.transfer_uid}/", autoescape=True),
            )
            .order_by(VaultDocument.id)
        )
    )


def _received(transfer: Transfer, document_id: int) -> VaultDocument:
    found = [d for d in _received_documents(transfer) if d.id == document_id]
    if not found:
        abort(404)
    return found[0]


@document_viewer.route("/<int:transfer_id>/received")
@requires("view_narrative")
def received(transfer_id: int) -> Any:
    """List the files that arrived with a transfer: the chronology and the documents."""
    transfer = _incoming(transfer_id)
    documents = _received_documents(transfer)
    audit_view("record.viewed", "transfer", transfer.transfer_uid, page="received_documents")
    return render_template("transfers/viewer_received.html", transfer=transfer, documents=documents)


@document_viewer.route("/<int:transfer_id>/received/<int:document_id>")
@requires("view_narrative")
def received_document(transfer_id: int, document_id: int) -> Any:
    """Show the pages of one received file, as it was delivered."""
    transfer = _incoming(transfer_id)
    document = _received(transfer, document_id)
    pupil = own(Pupil, document.pupil_id)
    side = _side("received", _read(pupil, document.storage_key), document.media_type)
    audit_view("document.opened", "vault_document", document.id, pages=side.pages)
    return render_template(
        "transfers/viewer_document.html",
        transfer=transfer,
        document=document,
        side=side,
        pages=range(1, side.shown + 1),
        more=side.pages > page_images.MAX_PAGES,
        max_pages=page_images.MAX_PAGES,
    )


@document_viewer.route("/<int:transfer_id>/received/<int:document_id>/pages/<int:page>")
@requires("view_narrative")
def received_page_image(transfer_id: int, document_id: int, page: int) -> Any:
    """Return one page of a received file as a PNG."""
    transfer = _incoming(transfer_id)
    document = _received(transfer, document_id)
    pupil = own(Pupil, document.pupil_id)
    side = _side("received", _read(pupil, document.storage_key), document.media_type)
    if side.problem or not 1 <= page <= side.shown:
        abort(404)
    png = page_images.render_page(side.data or b"", side.media_type, page)
    audit_view("document.page_viewed", "vault_document", document.id, side="received", page=page)
    return _png(png)
