"""Steps off the main path: the offline route, withdrawing, and retrying a failed delivery."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for

from exchange.transfers.models import OUTGOING, Transfer
from exchange.transfers.steps import audit
from exchange.web.access import db, has_fresh_second_factor, instance, own, requires
from exchange.web.access import requires_fresh_second_factor as fresh
from exchange.web.transfer_pages import _act, _actor, _possible_actions

transfer_actions = Blueprint("transfer_actions", __name__, url_prefix="/transfers")


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


def _capitalised(message: str) -> str:
    return message[:1].upper() + message[1:]


@transfer_actions.route("/<int:transfer_id>/export", methods=["GET", "POST"])
@requires("manage_transfers")
def export(transfer_id: int) -> Any:
    """Export an authorised offline transfer as an AES zip; show its passphrase once."""
    transfer = _offline(transfer_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        made: list[Any] = []
        message = _act_collect(transfer, "export", made)
        if message:
            errors["export"] = message
        else:
            return render_template("transfers/exported.html", transfer=transfer, package=made[0])
    return render_template(
        "transfers/export.html",
        transfer=transfer,
        errors=errors,
        can_do=_possible_actions(transfer),
    ), (400 if errors else 200)


def _act_collect(transfer: Transfer, action: str, made: list[Any]) -> str | None:
    from exchange.transfers import workflow
    from exchange.web.access import attempt

    return attempt(
        lambda: made.append(workflow.apply(db(), instance(), transfer, action, _actor()))
    )


@transfer_actions.route("/<int:transfer_id>/export/download")
@requires("manage_transfers")
def download(transfer_id: int) -> Any:
    """Download the exported zip (encrypted; each download is audited)."""
    transfer = _offline(transfer_id)
    if "confirm_receipt_code" not in _possible_actions(transfer) or not transfer.bundle_storage_key:
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
            message = _act(transfer, "confirm_receipt_code", code=code, confirmed_by=confirmed_by)
            if message:
                errors["code"] = _capitalised(message)
            else:
                return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))
    return render_template(
        "transfers/receipt_code.html",
        transfer=transfer,
        errors=errors,
        form=form,
        can_do=_possible_actions(transfer),
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
            message = _act(transfer, "withdraw", reason=reason)
            if message:
                errors["reason"] = _capitalised(message)
            else:
                return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))
    return render_template(
        "transfers/withdraw.html",
        transfer=transfer,
        errors=errors,
        form=form,
        possible="withdraw" in _possible_actions(transfer),
    ), (400 if errors else 200)


@transfer_actions.route("/<int:transfer_id>/retry", methods=["GET", "POST"])
@requires("manage_transfers")
@fresh
def retry(transfer_id: int) -> Any:
    """Send a failed delivery again, after the cause is fixed: authorised as the first time."""
    transfer = _outgoing(transfer_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            errors["confirm"] = "Confirm that the cause is fixed and the file should be sent again"
        else:
            message = _act(transfer, "retry", fresh_second_factor=has_fresh_second_factor())
            if message:
                errors["confirm"] = _capitalised(message)
            else:
                return render_template("transfers/authorised.html", transfer=transfer)
    return render_template(
        "transfers/retry.html",
        transfer=transfer,
        errors=errors,
        possible="retry" in _possible_actions(transfer),
    ), (400 if errors else 200)
