"""After the offer: recall a delivered file, confirm a recalled file destroyed, offer again."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from exchange.records.models import School
from exchange.transfers import workflow
from exchange.transfers.models import INCOMING, OUTGOING, Transfer
from exchange.transfers.notices import partner_notice_reason
from exchange.web.access import attempt, db, has_fresh_second_factor, instance, own, requires
from exchange.web.access import requires_fresh_second_factor as fresh
from exchange.web.transfer_pages import _act, _actor, _possible_actions

transfer_notices = Blueprint("transfer_notices", __name__, url_prefix="/transfers")


def _side(transfer_id: int, direction: str) -> Transfer:
    transfer = own(Transfer, transfer_id)
    if transfer.direction != direction:
        abort(404)
    return transfer


def _words(message: str) -> str:
    return message[:1].upper() + message[1:]


@transfer_notices.route("/<int:transfer_id>/recall", methods=["GET", "POST"])
@requires("manage_transfers")
@fresh
def recall(transfer_id: int) -> Any:
    """Recall a delivered file: the receiving school is asked, signed, to destroy its copy."""
    transfer = _side(transfer_id, OUTGOING)
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        if not form.get("reason", "").strip():
            errors["reason"] = "Enter why the file is recalled: the receiving DSL will read it"
        elif form.get("confirm") != "yes":
            errors["confirm"] = "Confirm that the receiving school should destroy its copy"
        else:
            message = _act(
                transfer,
                "recall",
                reason=form["reason"],
                fresh_second_factor=has_fresh_second_factor(),
            )
            if message:
                errors["reason"] = _words(message)
            else:
                return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))
    return render_template(
        "transfers/recall.html",
        transfer=transfer,
        errors=errors,
        form=form,
        possible="recall" in _possible_actions(transfer),
    ), (400 if errors else 200)


@transfer_notices.route("/<int:transfer_id>/destroy-recalled", methods=["GET", "POST"])
@requires("manage_transfers")
@fresh
def destroy_recalled(transfer_id: int) -> Any:
    """Confirm the destruction of a file its sender recalled; the sender gets a signed notice."""
    transfer = _side(transfer_id, INCOMING)
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        if form.get("confirm") != "yes":
            errors["confirm"] = "Confirm that the recalled file should be destroyed here"
        else:
            message = _act(
                transfer,
                "confirm_destruction",
                note=form.get("note", ""),
                fresh_second_factor=has_fresh_second_factor(),
            )
            if message:
                errors["confirm"] = _words(message)
            else:
                return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))
    return render_template(
        "transfers/destroy_recalled.html",
        transfer=transfer,
        errors=errors,
        form=form,
        possible="confirm_destruction" in _possible_actions(transfer),
        reason=partner_notice_reason(transfer),
    ), (400 if errors else 200)


def reoffered_as(transfer: Transfer) -> Transfer | None:
    """Return the transfer that offers this one again, if there is one."""
    return db().scalar(
        select(Transfer).where(
            Transfer.school_id == transfer.school_id,
            Transfer.direction == OUTGOING,
            Transfer.follows_uid == transfer.transfer_uid,
        )
    )


@transfer_notices.route("/<int:transfer_id>/reoffer", methods=["GET", "POST"])
@requires("manage_transfers")
def reoffer(transfer_id: int) -> Any:
    """Start a new draft that offers a rejected or expired transfer again, with an answer."""
    transfer = _side(transfer_id, OUTGOING)
    errors: dict[str, str] = {}
    form = request.form
    made: list[Transfer] = []
    if request.method == "POST":
        if not form.get("reason", "").strip():
            errors["reason"] = "Answer the reason the offer was refused: it goes with the new offer"
        else:

            def start() -> None:
                school = db().get(School, transfer.school_id)
                made.append(
                    workflow.start(
                        db(),
                        instance(),
                        school,
                        "reoffer",
                        _actor(),
                        previous=transfer,
                        reason=form["reason"],
                    )
                )

            message = attempt(start)
            if message:
                errors["reason"] = _words(message)
            else:
                return redirect(url_for("transfer_pages.show", transfer_id=made[0].id))
    return render_template(
        "transfers/reoffer.html",
        transfer=transfer,
        errors=errors,
        form=form,
        possible=workflow.refusal_to_start(
            db(),
            instance(),
            db().get(School, transfer.school_id),
            "reoffer",
            _actor(),
            previous=transfer,
            reason="(checking only)",
        )
        is None,
        again=reoffered_as(transfer),
    ), (400 if errors else 200)
