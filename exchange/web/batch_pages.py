"""September in bulk: batches of leavers made, offered, discussed and authorised together, and
offers from other schools answered in one form. Each child still moves through the workflow."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from exchange.errors import ExchangeError
from exchange.partners.models import Partner
from exchange.records.import_errors import ImportRejected
from exchange.records.models import Pupil
from exchange.records.sealed_reads import upn_is
from exchange.transfers import batch as batches
from exchange.transfers import states
from exchange.transfers.actors import Actor
from exchange.transfers.batch_sources import children_from_ctf, children_from_list
from exchange.transfers.batch_task import can_retry, queue_batch, run_state
from exchange.transfers.models import OUTGOING, Transfer, TransferBatch
from exchange.web.access import (
    current_school,
    current_user,
    db,
    has_fresh_second_factor,
    instance,
    own,
    requires,
    requires_fresh_second_factor,
)

batch_pages = Blueprint("batch_pages", __name__, url_prefix="/transfers/batches")
MAX_UPLOAD = 10 * 2**20


def _actor() -> Actor:
    user = current_user()
    assert user is not None
    return Actor.of(user, g.get("request_id"))


def _outgoing_batch(batch_id: int) -> TransferBatch:
    batch = own(TransferBatch, batch_id)
    if batch.direction != OUTGOING:
        abort(404)
    return batch


def _rows(outcomes: list[batches.Outcome]) -> dict[int | None, batches.Outcome]:
    return {outcome.transfer_id: outcome for outcome in outcomes if outcome.transfer_id}


@batch_pages.route("")
@requires("manage_transfers")
def index() -> Any:
    """List this school's batches of leavers."""
    return render_template(
        "batches/index.html",
        batches=batches.outgoing_batches(db(), current_school()),
        run_state=run_state,
    )


@batch_pages.route("/new", methods=["GET", "POST"])
@requires("manage_transfers")
def new() -> Any:
    """Start transfers for many leavers: ticked from the list, or read from a CTF."""
    school = current_school()
    errors: dict[str, str] = {}
    form = request.form
    partners = (
        db()
        .scalars(select(Partner).where(Partner.school_id == school.id).order_by(Partner.name))
        .all()
    )
    if request.method == "POST":
        destination = _chosen_partner(form.get("partner_id", ""))
        offer = form.get("offer") == "yes"
        try:
            if form.get("source") == "ctf":
                upload = request.files.get("ctf")
                if upload is None or not upload.filename:
                    errors["ctf"] = "Choose the CTF file to upload"
                else:
                    children, problems = children_from_ctf(
                        db(), school, upload.stream.read(MAX_UPLOAD + 1), destination
                    )
                    source = "ctf"
            else:
                chosen = [int(v) for v in form.getlist("pupil_id") if v.isdigit()]
                if not chosen:
                    errors["pupils"] = "Tick at least one leaver"
                else:
                    children, problems = children_from_list(db(), school, chosen, destination)
                    source = "list"
        except ImportRejected as rejected:
            shown = "; ".join(str(problem) for problem in rejected.problems[:5])
            errors["ctf"] = f"The CTF was refused: {shown}"
        except ExchangeError as refused:
            errors["ctf" if form.get("source") == "ctf" else "pupils"] = refused.message
        if not errors:
            batch = batches.plan_batch(
                db(), school, _actor(), children, source=source, problems=problems, offer=offer
            )
            queue_batch(db(), batch, _actor())  # A task makes the transfers; this page answers.
            return redirect(url_for("batch_pages.show", batch_id=batch.id), 303)
    leavers = (
        db()
        .scalars(
            select(Pupil)
            .where(Pupil.school_id == school.id, Pupil.leaving_date.is_not(None))
            .order_by(Pupil.leaving_date, Pupil.id)
        )
        .all()
    )
    ticked = set(form.getlist("pupil_id"))
    return render_template(
        "batches/new.html",
        leavers=leavers,
        partners=[p for p in partners if p.kind != "unknown"],
        errors=errors,
        form=form,
        ticked=ticked,
        destination_of=_destination_words(partners),
    ), (400 if errors else 200)


def _chosen_partner(value: str) -> Partner | None:
    return own(Partner, int(value)) if value.isdigit() else None


def _destination_words(partners: Any) -> Any:
    by_urn = {p.urn: p.name for p in partners if p.urn}

    def words(pupil: Pupil) -> str:
        if pupil.destination_urn in by_urn:
            return by_urn[pupil.destination_urn]
        return pupil.destination_name or "Not recorded"

    return words


@batch_pages.route("/<int:batch_id>")
@requires("manage_transfers")
def show(batch_id: int) -> Any:
    """Show where each child of the batch stands: the progress and summary page."""
    return _show(_outgoing_batch(batch_id), [], None)


def _show(batch: TransferBatch, outcomes: list[batches.Outcome], heading: str | None) -> Any:
    transfers = batches.batch_transfers(db(), batch)
    counts = Counter(states.WORDS.get(t.state, t.state) for t in transfers)
    actor = _actor()
    ready = {
        name: sum(1 for _, problem in batches.readiness(db(), instance(), transfers, name, actor,
                                                         fresh_second_factor=True) if not problem)
        for name in ("offer", "authorise")
    }  # fmt: skip
    talks = batches.needing_conversation(db(), instance(), current_school(), actor, transfers)
    by_id = {t.id: t for t in transfers}
    return render_template(
        "batches/show.html",
        batch=batch,
        run=run_state(batch),
        problems=[(p, by_id.get(p.get("transfer_id"))) for p in batch.problems or []],
        transfers=transfers,
        counts=sorted(counts.items()),
        outcomes=_rows(outcomes),
        failed=[o for o in outcomes if o.transfer_id is None],
        heading=heading,
        ready=ready,
        conversations=len(talks),
    )


@batch_pages.route("/<int:batch_id>/retry", methods=["POST"])
@requires("manage_transfers")
def retry(batch_id: int) -> Any:
    """Start a stopped or stalled batch again: only the children not yet started are made."""
    batch = _outgoing_batch(batch_id)
    if can_retry(batch):
        queue_batch(db(), batch, _actor())
    return redirect(url_for("batch_pages.show", batch_id=batch.id), 303)


@batch_pages.route("/<int:batch_id>/offer", methods=["POST"])
@requires("manage_transfers")
def offer(batch_id: int) -> Any:
    """Offer every child of the batch whose review is ready; report the others."""
    batch = _outgoing_batch(batch_id)
    transfers = batches.batch_transfers(db(), batch)
    outcomes = batches.take_each(db(), instance(), transfers, "offer", _actor())
    return _show(batch, outcomes, "Offers sent where ready")


@batch_pages.route("/<int:batch_id>/conversations", methods=["GET", "POST"])
@requires("manage_transfers")
def conversations(batch_id: int) -> Any:
    """Record the DSL conversations of the children who need one, in one form."""
    batch = _outgoing_batch(batch_id)
    transfers = batches.batch_transfers(db(), batch)
    waiting = batches.needing_conversation(db(), instance(), current_school(), _actor(), transfers)
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        entries = []
        for transfer in waiting:
            entry = _conversation_entry(transfer, form, errors)
            if entry is not None:
                entries.append(entry)
        if not entries and not errors:
            errors["conversations"] = "Fill in at least one child's conversation"
        recorded: list[batches.Outcome] = []
        if not errors:
            recorded = batches.record_conversations(db(), instance(), _actor(), entries)
            for outcome in recorded:
                if not outcome.done:
                    errors[f"summary-{outcome.transfer_id}"] = outcome.message
            if not errors:
                return _show(batch, recorded, "Conversations recorded")
            waiting = [t for t in waiting if f"summary-{t.id}" in errors or not _sent(t, form)]
        done = sum(1 for outcome in recorded if outcome.done)
        return render_template(
            "batches/conversations.html", batch=batch, children=waiting, errors=errors, form=form,
            done=done,
        ), (200 if done else 400)  # fmt: skip
    return render_template(
        "batches/conversations.html", batch=batch, children=waiting, errors={}, form=form, done=0
    )


def _sent(transfer: Transfer, form: Any) -> bool:
    return bool(form.get(f"summary-{transfer.id}", "").strip())


def _conversation_entry(
    transfer: Transfer, form: Any, errors: dict[str, str]
) -> batches.Conversation | None:
    held = form.get(f"held_on-{transfer.id}", "").strip()
    participants = form.get(f"participants-{transfer.id}", "").strip()
    summary = form.get(f"summary-{transfer.id}", "").strip()
    if not (held or participants or summary):
        return None  # Left for later.
    try:
        held_on = date.fromisoformat(held)
    except ValueError:
        errors[f"held_on-{transfer.id}"] = (
            "Enter the date of the conversation, for example 2027-07-14"
        )
        return None
    if not participants:
        errors[f"participants-{transfer.id}"] = "Enter who took part"
    if not summary:
        errors[f"summary-{transfer.id}"] = "Enter a summary of the child's needs"
    if not participants or not summary:
        return None
    return batches.Conversation(transfer, held_on, participants, summary)


@batch_pages.route("/<int:batch_id>/authorise", methods=["GET", "POST"])
@requires("manage_transfers")
@requires_fresh_second_factor
def authorise(batch_id: int) -> Any:
    """Authorise, with one fresh second factor, every child whose required steps are met."""
    batch = _outgoing_batch(batch_id)
    transfers = batches.batch_transfers(db(), batch)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            errors["confirm"] = "Confirm that you authorise sending these files"
        else:
            outcomes = batches.take_each(
                db(), instance(), transfers, "authorise", _actor(),
                fresh_second_factor=has_fresh_second_factor(),
            )  # fmt: skip
            return _show(batch, outcomes, "Authorised where ready")
    rows = batches.readiness(
        db(), instance(), transfers, "authorise", _actor(), fresh_second_factor=True
    )
    return render_template(
        "batches/authorise.html",
        batch=batch,
        ready=[t for t, problem in rows if problem is None],
        not_ready=[(t, problem) for t, problem in rows if problem is not None],
        errors=errors,
    ), (400 if errors else 200)


@batch_pages.route("/offers", methods=["GET", "POST"])
@requires("answer_offers")
def offers() -> Any:
    """Answer offers from other schools, grouped by school and batch, many children at once."""
    school = current_school()
    errors: dict[str, str] = {}
    outcomes: list[batches.Outcome] = []
    form = request.form
    groups = batches.offers_waiting(db(), instance(), school, _actor())
    if request.method == "POST":
        answers = _answers(groups, form, errors)
        if not answers and not errors:
            errors["offers"] = "Choose to accept or reject at least one child"
        if not errors:
            outcomes = batches.answer_offers(db(), instance(), _actor(), answers)
            for outcome in outcomes:
                if not outcome.done:
                    errors[f"decision-{outcome.transfer_id}"] = outcome.message
            groups = batches.offers_waiting(db(), instance(), school, _actor())
    on_roll = {t.id: _on_roll(t) for group in groups for t in group.offers}
    return render_template(
        "batches/offers.html",
        groups=groups,
        on_roll=on_roll,
        errors=errors,
        form=form,
        answered=[o for o in outcomes if o.done],
    ), (400 if errors and not outcomes else 200)


def _answers(
    groups: list[batches.OfferGroup], form: Any, errors: dict[str, str]
) -> list[batches.Answer]:
    answers = []
    for group in groups:
        for transfer in group.offers:
            decision = form.get(f"decision-{transfer.id}", "")
            if decision not in ("accept", "reject"):
                continue  # Left for later.
            reason = form.get(f"reason-{transfer.id}", "").strip()
            if decision == "reject" and not reason:
                errors[f"reason-{transfer.id}"] = "Enter why you reject this child's file"
                continue
            confirmed = form.get(f"on_roll-{transfer.id}") == "yes"
            answers.append(batches.Answer(transfer, decision, confirmed, reason))
    return answers


def _on_roll(transfer: Transfer) -> Pupil | None:
    """Return the child on this school's roll that the offer names (same UPN), if any."""
    if transfer.pupil is not None:
        return transfer.pupil
    return db().scalar(
        select(Pupil).where(
            Pupil.school_id == transfer.school_id,
            upn_is(db(), transfer.school_id, transfer.pupil_upn),
        )
    )
