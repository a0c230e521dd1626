"""The start page for each role, leavers and a child's record."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from sqlalchemy import select

from exchange.auth.permissions import can
from exchange.notifications.dpo_work import WINDOW_DAYS, dpo_work
from exchange.notifications.preferences import digest_user_ids, set_digest
from exchange.notifications.worklist import (
    acknowledged_uids,
    dsl_work,
    most_meaningful,
)
from exchange.partners.models import Partner
from exchange.records.models import Incident, Pupil, User, VaultDocument
from exchange.subject_access.register import START_PAGE_DAYS as SAR_START_PAGE_DAYS
from exchange.subject_access.register import due_soon as sar_due_soon
from exchange.transfers import progress, workflow
from exchange.transfers.acknowledgement import ACTIONS
from exchange.transfers.actors import Actor
from exchange.transfers.clock import clock_for
from exchange.transfers.models import INCOMING, OUTGOING, Transfer
from exchange.web.access import (
    attempt,
    audit_view,
    current_school,
    current_user,
    db,
    instance,
    own,
    requires,
)

home = Blueprint("home", __name__)


@home.route("/")
def start() -> Any:
    """Send each role to its own start page."""
    user = current_user()
    if user is None:
        return redirect(url_for("signin.login"))
    if can(user.role, "view_children") or can(user.role, "view_receipts"):
        return redirect(url_for("home.start_page"))
    return redirect(url_for("user_pages.users"))


@home.route("/start")
@requires("view_transfers")
def start_page() -> Any:
    """Show what waits for the signed-in DSL or DPO today."""
    user = current_user()
    assert user is not None
    today = date.today()
    if can(user.role, "view_children"):
        digest = user.id in digest_user_ids(current_school())
        return render_template("dsl/start.html", work=_dsl_work(), today=today, digest=digest)
    work = _dpo_work()
    sar = sar_due_soon(db(), user.school_id, today) if can(user.role, "sar.view") else []
    return render_template(
        "dpo/start.html",
        work=work,
        today=today,
        window=WINDOW_DAYS,
        sar=sar,
        sar_days=SAR_START_PAGE_DAYS,
    )


@home.route("/start/emails", methods=["POST"])
@requires("view_children")
def emails() -> Any:
    """Choose an email for each event, or one digest a day (the DSL's own choice)."""
    user = current_user()
    assert user is not None
    choice = request.form.get("emails", "")
    if choice not in ("each", "digest"):
        return render_template(
            "error.html", title="Choose how to be emailed", message="Choose one of the two"
        ), 400
    set_digest(current_school(), user.id, wanted=choice == "digest")
    return redirect(url_for("home.start_page") + "#emails")


def _dsl_work() -> Any:
    if "dsl_work" not in g:
        g.dsl_work = dsl_work(db(), current_school(), date.today())
    return g.dsl_work


def _dpo_work() -> Any:
    if "dpo_work" not in g:
        user = current_user()
        assert user is not None
        g.dpo_work = dpo_work(db(), user.school_id, instance().instance_key, date.today())
    return g.dpo_work


@home.app_template_global("waiting_count")
def waiting_count() -> int:
    """Return how many things wait for the signed-in user (the figure beside "Start")."""
    user = current_user()
    if user is None or not can(user.role, "view_transfers"):
        return 0
    return (_dsl_work() if can(user.role, "view_children") else _dpo_work()).count()


@home.app_template_global("batches_waiting")
def batches_waiting() -> int:
    """Return how many batches need the signed-in DSL (the figure beside "Batches")."""
    from exchange.transfers.batch_task import needing_action

    user = current_user()
    if user is None or not can(user.role, "manage_transfers"):
        return 0
    if "batches_waiting" not in g:
        work = _dsl_work()
        waiting = [transfer for transfer, _ in work.to_act_on] + list(work.offers)
        g.batches_waiting = needing_action(db(), user.school_id, waiting)
    return g.batches_waiting


@home.app_template_global("person_name")
def person_name(user_id: int | None) -> str:
    """Return the name of a user of the signed-in school who took a step, or the service."""
    if user_id is None:
        return "the service"
    user = current_user()
    person = db().get(User, user_id)
    if user is None or person is None or person.school_id != user.school_id:
        return "someone at the other school"
    return person.name


@home.route("/leavers")
@requires("view_children")
def leavers() -> Any:
    """List children who are leaving, with their most telling transfer and its clock."""
    school, today = current_school(), date.today()
    pupils = db().scalars(
        select(Pupil).where(Pupil.leaving_date.is_not(None)).order_by(Pupil.leaving_date, Pupil.id)
    )
    outgoing: dict[int, list[Transfer]] = {}
    for transfer in db().scalars(select(Transfer).where(Transfer.direction == OUTGOING)):
        if transfer.pupil_id is not None:
            outgoing.setdefault(transfer.pupil_id, []).append(transfer)
    rows = []
    for pupil in pupils:
        transfer = most_meaningful(outgoing.get(pupil.id, ()))
        clock = clock_for(
            school, pupil.leaving_date, transfer.deadline if transfer else None, today
        )
        reached = transfer is not None and progress.has_reached(transfer)
        runs = progress.clock_runs(transfer)
        rows.append(
            {
                "pupil": pupil,
                "transfer": transfer,
                "deadline": clock.deadline,
                "clock": clock,
                "reached": reached,
                "overdue": clock.overdue and runs and not reached,
                "clock_runs": runs,
                "others": len(outgoing.get(pupil.id, ())) - 1,
            }
        )
    return render_template("dsl/leavers.html", rows=rows, today=today)


@home.route("/received/<int:transfer_id>/acknowledge", methods=["GET", "POST"])
@requires("manage_transfers")
def acknowledge(transfer_id: int) -> Any:
    """Record that a person read a received file and acted on it (audited, with the actions)."""
    transfer = own(Transfer, transfer_id)
    if transfer.direction != INCOMING or not progress.is_imported(transfer):
        return render_template(
            "error.html",
            title="Nothing to acknowledge",
            message="Only a file that has arrived and been imported can be acknowledged.",
        ), 409
    done = transfer.transfer_uid in acknowledged_uids(db(), transfer.school_id)
    errors: dict[str, str] = {}
    chosen = request.form.getlist("action") if request.method == "POST" else []
    if request.method == "POST" and not done:
        chosen = [action for action in chosen if action in ACTIONS]
        if "read" not in chosen:
            errors["action-read"] = "Confirm that you read the file in full"
        else:
            user = current_user()
            assert user is not None
            actor = Actor.of(user, g.get("request_id"))
            refused = attempt(
                lambda: workflow.apply(
                    db(), instance(), transfer, "acknowledge", actor, actions=chosen
                )
            )
            if refused is None:
                return redirect(url_for("home.start_page"))
            errors["action-read"] = refused
    return render_template(
        "dsl/acknowledge.html",
        transfer=transfer,
        actions=ACTIONS,
        chosen=chosen,
        done=done,
        errors=errors,
        today=date.today(),
    ), (400 if errors else 200)


@home.route("/pupils")
@requires("view_children")
def pupils() -> Any:
    """Find a child by name or UPN (the UPN through its blind index)."""
    from exchange.web.search import find_pupils

    text = request.args.get("q", "").strip()[:100]
    school = current_school()
    found = find_pupils(db(), school.id, text) if text else []
    return render_template("dsl/pupils.html", text=text, found=found)


@home.route("/pupils/<int:pupil_id>")
@requires("view_narrative")
def pupil(pupil_id: int) -> Any:
    """Show a child's chronology: incidents, actions and documents (audited)."""
    child = own(Pupil, pupil_id)
    incidents = (
        db()
        .scalars(
            select(Incident).where(Incident.pupil_id == child.id).order_by(Incident.occurred_at)
        )
        .all()
    )
    documents = (
        db()
        .scalars(
            select(VaultDocument)
            .where(VaultDocument.pupil_id == child.id)
            .order_by(VaultDocument.id)
        )
        .all()
    )
    partners = db().scalars(select(Partner).order_by(Partner.name)).all()
    transfers = (
        db()
        .scalars(select(Transfer).where(Transfer.pupil_id == child.id).order_by(Transfer.id.desc()))
        .all()
    )
    audit_view("record.viewed", "pupil", child.id, incidents=len(incidents))
    return render_template(
        "dsl/pupil.html",
        pupil=child,
        incidents=incidents,
        documents=documents,
        partners=partners,
        transfers=transfers,
    )


# The calendar page adds its routes to this blueprint.
from exchange.web import calendar_page  # noqa: E402, F401
