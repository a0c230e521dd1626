"""Transfers as a departing or receiving DSL (and as metadata for the DPO)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from sqlalchemy import select

from exchange.auth.permissions import can
from exchange.partners.models import Partner
from exchange.records.models import Incident, Pupil, VaultDocument
from exchange.transfers import progress, workflow
from exchange.transfers.acknowledgement import acknowledgement_of
from exchange.transfers.actors import Actor
from exchange.transfers.bundle_step import make_chronology
from exchange.transfers.models import INCOMING, OUTGOING, Transfer, TransferStep
from exchange.transfers.outgoing import conversation_date_problem, conversation_required
from exchange.transfers.redaction_step import reviews, unresolved_flags
from exchange.transfers.review_changes import changes_since_review
from exchange.web.access import (
    attempt,
    audit_view,
    current_school,
    current_user,
    db,
    has_fresh_second_factor,
    instance,
    own,
    requires,
    requires_fresh_second_factor,
)

transfer_pages = Blueprint("transfer_pages", __name__, url_prefix="/transfers")

# The largest redacted replacement a DSL may upload for a flagged document.
MAX_REPLACEMENT_BYTES = 20 * 2**20


def _actor() -> Actor:
    user = current_user()
    assert user is not None
    return Actor.of(user, g.get("request_id"))


def _outgoing(transfer_id: int) -> Transfer:
    transfer = own(Transfer, transfer_id)
    if transfer.direction != OUTGOING:
        return _not_found()
    return transfer


def _incoming(transfer_id: int) -> Transfer:
    transfer = own(Transfer, transfer_id)
    if transfer.direction != INCOMING:
        return _not_found()
    return transfer


def _not_found() -> Any:
    from flask import abort

    abort(404)


def _attempt(step: Callable[[], Any]) -> str | None:
    """Run a service step; on a refusal return the message to show (nothing changed)."""
    return attempt(step)


def _act(transfer: Transfer, action: str, **inputs: Any) -> str | None:
    """Take one workflow action as the signed-in user; return the refusal's words, if any."""
    return attempt(lambda: workflow.apply(db(), instance(), transfer, action, _actor(), **inputs))


@transfer_pages.route("")
@requires("view_transfers")
def index() -> Any:
    """List transfers out and in: searched, filtered and sorted from the query string."""
    from exchange.calendar.store import load
    from exchange.web import search

    user = current_user()
    assert user is not None
    query = search.TransferQuery.from_args(request.args)
    names = can(user.role, "view_children")  # The DPO keeps to the UPN and the reference.
    rows = query.apply(
        db().scalars(select(Transfer)), load(current_school()), date.today(), names=names
    )
    return render_template(
        "transfers/index.html",
        outgoing=[t for t in rows if t.direction == OUTGOING],
        incoming=[t for t in rows if t.direction == INCOMING],
        today=date.today(),
        is_overdue=progress.is_overdue,
        query=query,
        names=names,
        search=search,
    )


@transfer_pages.route("/new/<int:pupil_id>", methods=["POST"])
@requires("manage_transfers")
def start(pupil_id: int) -> Any:
    """Start a draft transfer of a child's file to a partner school."""
    child = own(Pupil, pupil_id)
    partner_id = request.form.get("partner_id", "")
    partner = own(Partner, int(partner_id)) if partner_id.isdigit() else None
    if partner is None:
        return render_template(
            "error.html", title="Choose a school", message="Choose the school the child is joining"
        ), 400
    created: list[Transfer] = []
    error = _attempt(
        lambda: created.append(
            workflow.start(
                db(), instance(), current_school(), "create", _actor(), pupil=child, partner=partner
            )
        )
    )
    if error:
        return render_template(
            "error.html", title="The transfer was not started", message=error
        ), 400
    return redirect(url_for("transfer_pages.show", transfer_id=created[0].id))


@transfer_pages.route("/<int:transfer_id>")
@requires("view_transfers")
def show(transfer_id: int, error: str | None = None, field: str | None = None) -> Any:
    """Show a transfer: the DSL's task list, or its metadata for the DPO."""
    transfer = own(Transfer, transfer_id)
    steps = (
        db()
        .scalars(
            select(TransferStep)
            .where(TransferStep.transfer_id == transfer.id)
            .order_by(TransferStep.id)
        )
        .all()
    )
    can_do = _possible_actions(transfer)
    flags = len(unresolved_flags(db(), transfer)) if transfer.direction == OUTGOING else 0
    required = conversation_required(current_school(), transfer)
    changes = changes_since_review(db(), transfer) if "redact_changes" in can_do else []
    context: dict[str, Any] = {
        "transfer": transfer,
        "steps": steps,
        "error": error,
        "errors": {field or ("decision" if transfer.direction == INCOMING else "tasks"): error}
        if error
        else {},
        "form": request.form,
        "today": date.today(),
        "flags": flags,
        "conversation_required": required,
        "can_do": can_do,
        "tasks": progress.outgoing_tasks(transfer, can_do, flags, required, len(changes)),
        "overdue": progress.is_overdue(transfer, date.today()),
        "imported": progress.is_imported(transfer),
        "withdrawn": progress.was_withdrawn(transfer),
        "acknowledgement": acknowledgement_of(db(), transfer),
        "changes": changes,
    }
    if transfer.direction == OUTGOING:
        context["reoffer_possible"], context["reoffered_as"] = _reoffer(transfer)
    if transfer.direction == INCOMING:
        return render_template("transfers/incoming.html", **context), 400 if error else 200
    return render_template("transfers/outgoing.html", **context), 400 if error else 200


def _reoffer(transfer: Transfer) -> tuple[bool, Transfer | None]:
    """Return whether the workflow would let this user offer the file again, and any re-offer."""
    from exchange.web.transfer_notices import reoffered_as

    refused = workflow.refusal_to_start(
        db(),
        instance(),
        current_school(),
        "reoffer",
        _actor(),
        previous=transfer,
        reason="(checking only)",
    )
    return refused is None, reoffered_as(transfer)


def _possible_actions(transfer: Transfer) -> set[str]:
    """Return the actions the signed-in user could take on this transfer now (for the page)."""
    actor = _actor()
    return {
        name
        for name, action in workflow.ACTIONS.items()
        if action.permission != "transfer.system"
        and workflow.allowed(db(), instance(), transfer, name, actor, fresh_second_factor=True)
    }


@transfer_pages.route("/<int:transfer_id>/items", methods=["GET", "POST"])
@requires("manage_transfers")
def items(transfer_id: int) -> Any:
    """Choose what goes: each record, included or not, with a reason when it departs from policy."""
    transfer = _outgoing(transfer_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        for item in transfer.items:
            key = f"{item.kind}-{item.object_id}"
            included = request.form.get(f"include-{key}") == "yes"
            reason = request.form.get(f"reason-{key}", "")
            if included == item.included and (reason.strip() or None) == item.reason:
                continue
            message = _act(
                transfer,
                "select_item",
                kind=item.kind,
                object_id=item.object_id,
                included=included,
                reason=reason,
            )
            if message:
                errors[f"reason-{key}"] = message
                break
        if not errors:
            return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))
    incidents = {
        i.id: i
        for i in db().scalars(select(Incident).where(Incident.pupil_id == transfer.pupil_id))
    }
    documents = {
        d.id: d
        for d in db().scalars(
            select(VaultDocument).where(VaultDocument.pupil_id == transfer.pupil_id)
        )
    }
    audit_view("record.viewed", "pupil", transfer.pupil_id or 0, page="transfer_items")
    return render_template(
        "transfers/items.html",
        posted=request.form if errors else None,
        transfer=transfer,
        incidents=incidents,
        documents=documents,
        errors=errors,
    ), (400 if errors else 200)


@transfer_pages.route("/<int:transfer_id>/review", methods=["POST"])
@requires("manage_transfers")
def start_review(transfer_id: int) -> Any:
    """Redact what was chosen and open the redaction review."""
    transfer = _outgoing(transfer_id)
    error = _act(transfer, "start_review")
    if error:
        return show(transfer_id, error)
    return redirect(url_for("transfer_pages.redactions", transfer_id=transfer.id))


@transfer_pages.route("/<int:transfer_id>/review/changes", methods=["POST"])
@requires("manage_transfers")
def redact_changes(transfer_id: int) -> Any:
    """Redact again the texts that changed in the records after the review, then show them."""
    transfer = _outgoing(transfer_id)
    error = _act(transfer, "redact_changes")
    if error:
        return show(transfer_id, error)
    return redirect(url_for("transfer_pages.redactions", transfer_id=transfer.id))


@transfer_pages.route("/<int:transfer_id>/redactions", methods=["GET", "POST"])
@requires("manage_transfers")
def redactions(transfer_id: int) -> Any:
    """Review the redactions and resolve each flag: confirm, exclude or replace the document."""
    transfer = _outgoing(transfer_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        review_id = request.form.get("review_id", "")
        resolution = request.form.get("resolution", "")
        note = request.form.get("note", "")
        field = f"resolution-{review_id}"
        replacement: bytes | None = None
        if not review_id.isdigit():
            errors["resolution"] = "Choose an item to resolve"
        elif resolution not in ("confirmed", "excluded", "replaced"):
            errors[field] = "Choose whether to confirm, exclude or replace this item"
        elif not note.strip():
            errors[f"note-{review_id}"] = "Enter what you checked, or why"
        elif resolution == "replaced":
            replacement, problem = _replacement_pdf()
            if problem:
                errors[f"replacement-{review_id}"] = problem
        if not errors:
            message = _act(
                transfer,
                "resolve_flag",
                review_id=int(review_id),
                resolution=resolution,
                note=note,
                replacement=replacement,
            )
            if message:
                target = "replacement" if resolution == "replaced" else "note"
                errors[f"{target}-{review_id}"] = message[:1].upper() + message[1:]
        if not errors:
            return redirect(url_for("transfer_pages.redactions", transfer_id=transfer.id))
    return render_template(
        "transfers/redactions.html",
        transfer=transfer,
        reviews=reviews(db(), transfer),
        max_mb=MAX_REPLACEMENT_BYTES // 2**20,
        errors=errors,
    ), (400 if errors else 200)


def _replacement_pdf() -> tuple[bytes | None, str | None]:
    """Return the uploaded replacement PDF, or the problem with it."""
    upload = request.files.get("replacement")
    if upload is None or not upload.filename:
        return None, "Choose the redacted PDF to upload"
    data = upload.stream.read(MAX_REPLACEMENT_BYTES + 1)
    if len(data) > MAX_REPLACEMENT_BYTES:
        return None, f"The file must be smaller than {MAX_REPLACEMENT_BYTES // 2**20} MB"
    if not data.startswith(b"%PDF-"):
        return None, "The file must be a PDF"
    return data, None


@transfer_pages.route("/<int:transfer_id>/offer", methods=["POST"])
@requires("manage_transfers")
def offer(transfer_id: int) -> Any:
    """Sign the offer and send it to the receiving school."""
    transfer = _outgoing(transfer_id)
    error = _act(transfer, "offer")
    if error:
        return show(transfer_id, error)
    return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))


@transfer_pages.route("/<int:transfer_id>/conversation", methods=["GET", "POST"])
@requires("manage_transfers")
def conversation(transfer_id: int) -> Any:
    """Record the DSL-to-DSL conversation and a summary of the child's needs."""
    transfer = _outgoing(transfer_id)
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        try:
            held_on = date.fromisoformat(form.get("held_on", ""))
        except ValueError:
            errors["held_on"] = "Enter the date of the conversation, for example 2026-11-19"
        else:
            problem = conversation_date_problem(transfer, held_on)
            if problem:
                errors["held_on"] = problem
        if not form.get("participants", "").strip():
            errors["participants"] = "Enter who took part"
        if not form.get("summary", "").strip():
            errors["summary"] = "Enter a summary of the child's needs"
        if not errors:
            message = _act(
                transfer,
                "record_conversation",
                held_on=held_on,
                participants=form["participants"],
                summary=form["summary"],
            )
            if message:
                errors["summary"] = message
            else:
                return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))
    return render_template(
        "transfers/conversation.html", transfer=transfer, errors=errors, form=form
    ), (400 if errors else 200)


@transfer_pages.route("/<int:transfer_id>/authorise", methods=["GET", "POST"])
@requires("manage_transfers")
@requires_fresh_second_factor
def authorise(transfer_id: int) -> Any:
    """Authorise the transfer, just after confirming the second factor, and send it."""
    transfer = _outgoing(transfer_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            errors["confirm"] = "Confirm that you authorise this transfer"
        else:
            message = _act(transfer, "authorise", fresh_second_factor=has_fresh_second_factor())
            if message:
                errors["confirm"] = message
            else:
                return render_template("transfers/authorised.html", transfer=transfer)
    return render_template("transfers/authorise.html", transfer=transfer, errors=errors), (
        400 if errors else 200
    )


@transfer_pages.route("/<int:transfer_id>/chronology")
@requires("view_narrative")
def chronology(transfer_id: int) -> Any:
    """Show the chronology: what the other school will see, or what arrived (audited)."""
    transfer = own(Transfer, transfer_id)
    if transfer.direction == INCOMING:
        if transfer.pupil_id is None:
            return _not_found()
        return redirect(url_for("home.pupil", pupil_id=transfer.pupil_id))
    if not reviews(db(), transfer) or transfer.pupil_id is None:
        if transfer.vault_queued_at is not None:
            return show(transfer_id, "The incidents are still being redacted: preview later")
        return show(transfer_id, "Start the redaction review to preview the chronology")
    preview = make_chronology(db(), transfer, current_school(), own(Pupil, transfer.pupil_id))
    audit_view("transfer.chronology_previewed", "transfer", transfer.transfer_uid)
    return render_template("transfers/chronology.html", transfer=transfer, chronology=preview)


@transfer_pages.route("/<int:transfer_id>/answer", methods=["POST"])
@requires("answer_offers")
def answer(transfer_id: int) -> Any:
    """Accept an incoming offer (the child is or will be on roll) or reject it with a reason."""
    transfer = _incoming(transfer_id)
    decision = request.form.get("decision")
    if decision not in ("accept", "reject"):
        return show(transfer_id, "Choose whether to accept or reject the offer", "decision")
    reason, on_roll = request.form.get("reason", ""), request.form.get("on_roll") == "yes"
    error = _act(transfer, decision, reason=reason, on_roll_confirmed=on_roll)
    if error:
        # The workflow's words, shown beside what the DSL left out (or the choice itself).
        if decision == "accept" and not on_roll:
            field = "on_roll"
        elif decision == "reject" and not reason.strip():
            field = "reason"
        else:
            field = "decision"
        return show(transfer_id, error, field)
    return redirect(url_for("transfer_pages.show", transfer_id=transfer.id))
