"""Steps off the main path: the offline route, withdrawing, and retrying a failed delivery."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for

from exchange.transfers import outgoing, states
from exchange.transfers.models import OUTGOING, Transfer
from exchange.transfers.offline_route import confirm_receipt_code, export_package
from exchange.transfers.steps import audit, move
from exchange.web.access import (
    after_commit,
    db,
    instance,
    own,
    requires,
    requires_fresh_second_factor,
)
from exchange.web.transfer_pages import _actor, _attempt

transfer_actions = Blueprint("transfer_actions", __name__, url_prefix="/transfers")

# States from which the departing DSL may still withdraw (nothing has been delivered).
WITHDRAWABLE = frozenset(
    {
        states.DRAFT,
        states.REDACTION_REVIEW,
        states.OFFERED,
        states.ACCEPTED,
        states.CONVERSATION_RECORDED,
        states.AUTHORISED,
        states.FAILED,
    }
)


def _outgoing(transfer_id: int) -> Transfer:
    transfer = own(Transfer, transfer_id)
    if transfer.direction != OUTGOING:
        abort(404)
    return transfer


def _offline(transfer_id: int) -> Transfer:
    transfer = _outgoing(transfer_id)
    if transfer.route != "offline":
        abort(404)
    return transfer


@transfer_actions.route("/<int:transfer_id>/export", methods=["GET", "POST"])
@requires("manage_transfers")
def export(transfer_id: int) -> Any:
    """Export an authorised offline transfer as an AES zip; show its passphrase once."""
    transfer = _offline(transfer_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        made: list[Any] = []
        message = _attempt(
            lambda: made.append(export_package(db(), instance(), transfer, _actor()))
        )
        if message:
            errors["export"] = message
        else:
            return render_template("transfers/exported.html", transfer=transfer, package=made[0])
    return render_template("transfers/export.html", transfer=transfer, errors=errors), (
        400 if errors else 200
    )


@transfer_actions.route("/<int:transfer_id>/export/download")
@requires("manage_transfers")
def download(transfer_id: int) -> Any:
    """Download the exported zip (encrypted; each download is audited)."""
    transfer = _offline(transfer_id)
    if transfer.state != states.EXPORTED or not transfer.bundle_storage_key:
        abort(404)
    path = instance().home / "outbox" / transfer.bundle_storage_key
    if not path.is_file():
        abort(404)
    audit(db(), transfer, _actor(), "transfer.offline_zip_downloaded")
    return send_file(
        path,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"transfer-{transfer.transfer_uid[:8]}.zip",
    )


@transfer_actions.route("/<int:transfer_id>/receipt-code", methods=["GET", "POST"])
@requires("manage_transfers")
def receipt_code(transfer_id: int) -> Any:
    """Record the receipt code the receiving DSL read back by phone, and who they are."""
    transfer = _offline(transfer_id)
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        code = form.get("code", "").strip()
        confirmed_by = form.get("confirmed_by", "").strip()
        if not code:
            errors["code"] = "Enter the receipt code the other school read to you"
        if not confirmed_by:
            errors["confirmed_by"] = "Enter who confirmed receipt, with their school"
        if not errors:
            message = _attempt(
                lambda: confirm_receipt_code(
                    db(), instance(), transfer, code, confirmed_by, _actor()
                )
            )
            if message:
                errors["code"] = message[:1].upper() + message[1:]
            else:
                return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))
    return render_template(
        "transfers/receipt_code.html", transfer=transfer, errors=errors, form=form
    ), (400 if errors else 200)


@transfer_actions.route("/<int:transfer_id>/withdraw", methods=["GET", "POST"])
@requires("manage_transfers")
def withdraw(transfer_id: int) -> Any:
    """Withdraw a transfer that has not been delivered, with a reason."""
    transfer = _outgoing(transfer_id)
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        reason = form.get("reason", "")
        if not reason.strip():
            errors["reason"] = "Enter why the transfer is withdrawn"
        else:
            message = _attempt(lambda: outgoing.withdraw(db(), transfer, _actor(), reason))
            if message:
                errors["reason"] = message[:1].upper() + message[1:]
            else:
                return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))
    return render_template(
        "transfers/withdraw.html",
        transfer=transfer,
        errors=errors,
        form=form,
        possible=transfer.state in WITHDRAWABLE,
    ), (400 if errors else 200)


@transfer_actions.route("/<int:transfer_id>/retry", methods=["GET", "POST"])
@requires("manage_transfers")
@requires_fresh_second_factor
def retry(transfer_id: int) -> Any:
    """Authorise a failed delivery again, after the cause is fixed, and send it."""
    transfer = _outgoing(transfer_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if transfer.route != "online":
            errors["confirm"] = "Only a delivery to a school's service can be sent again"
        elif request.form.get("confirm") != "yes":
            errors["confirm"] = "Confirm that the cause is fixed and the file should be sent again"
        else:
            message = _attempt(lambda: move(db(), transfer, states.AUTHORISED, _actor()))
            if message:
                errors["confirm"] = message[:1].upper() + message[1:]
            else:
                after_commit("exchange.transfers.deliver", transfer.id)
                return render_template("transfers/authorised.html", transfer=transfer)
    return render_template(
        "transfers/retry.html",
        transfer=transfer,
        errors=errors,
        possible=transfer.state == states.FAILED and transfer.route == "online",
    ), (400 if errors else 200)
