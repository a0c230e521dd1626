"""The offline route's third receipt: the transfer form the receiving school signed and returned."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for

from exchange.records.models import Pupil
from exchange.transfers.models import OUTGOING, Transfer
from exchange.transfers.offline_route import MAX_FORM_BYTES
from exchange.transfers.steps import audit
from exchange.vault.pupil_keys import blob_context, pupil_data_key
from exchange.web.access import db, instance, own, requires
from exchange.web.transfer_pages import _act, _actor, _possible_actions

signed_form_pages = Blueprint("signed_form_pages", __name__, url_prefix="/transfers")


def _offline(transfer_id: int) -> Transfer:
    transfer = own(Transfer, transfer_id)
    if transfer.direction != OUTGOING or transfer.route != "offline":
        abort(404)
    return transfer


@signed_form_pages.route("/<int:transfer_id>/signed-form", methods=["GET", "POST"])
@requires("manage_transfers")
def upload(transfer_id: int) -> Any:
    """Upload the signed transfer form (PDF or scan); it is kept with the transfer."""
    transfer = _offline(transfer_id)
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        uploaded = request.files.get("form")
        confirmed_by = form.get("confirmed_by", "").strip()
        data = b""
        if uploaded:
            try:
                data = uploaded.read(MAX_FORM_BYTES + 1)
            finally:
                uploaded.close()  # A large upload is spooled to a temporary file.
        if not data:
            errors["form"] = "Choose the signed transfer form (a PDF, or a scan or photo)"
        if not confirmed_by:
            errors["confirmed_by"] = "Enter who signed the form, with their school"
        if not errors:
            message = _act(transfer, "record_signed_form", form=data, confirmed_by=confirmed_by)
            if message:
                errors["form"] = message[:1].upper() + message[1:]
            else:
                return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))
    return render_template(
        "transfers/signed_form.html",
        transfer=transfer,
        errors=errors,
        form=form,
        can_do=_possible_actions(transfer),
    ), (400 if errors else 200)


@signed_form_pages.route("/<int:transfer_id>/signed-form/file")
@requires("view_transfers")
def file(transfer_id: int) -> Any:
    """Open the kept signed form (each opening is audited)."""
    transfer = own(Transfer, transfer_id)
    if not transfer.signed_form_storage_key:
        abort(404)
    session = db()
    pupil = session.get(Pupil, transfer.pupil_id)
    if pupil is None:
        abort(404)  # Destroyed with the child's file at the purge.
    key = pupil_data_key(session, pupil, instance().instance_key)
    data = instance().blobs.read_all(key, blob_context(pupil), transfer.signed_form_storage_key)
    audit(session, transfer, _actor(), "transfer.signed_form_opened")
    response = send_file(
        io.BytesIO(data),
        mimetype=transfer.signed_form_media_type or "application/octet-stream",
        as_attachment=True,
        download_name=f"signed-transfer-form-{transfer.transfer_uid[:8]}",
    )
    response.headers["Cache-Control"] = "no-store"
    return response
