"""The start page for each role, leavers and a child's record."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from sqlalchemy import select

from exchange.auth.permissions import can
from exchange.partners.models import Partner
from exchange.records.models import Incident, Pupil, VaultDocument
from exchange.transfers import progress
from exchange.transfers.clock import deadline_for
from exchange.transfers.models import OUTGOING, Transfer
from exchange.web.access import audit_view, current_school, current_user, db, own, requires

home = Blueprint("home", __name__)


@home.route("/")
def start() -> Any:
    """Send each role to its own start page."""
    user = current_user()
    if user is None:
        return redirect(url_for("signin.login"))
    if can(user.role, "view_children"):
        return redirect(url_for("home.leavers"))
    if can(user.role, "view_receipts"):
        return redirect(url_for("dpo_pages.receipts"))
    return redirect(url_for("user_pages.users"))


@home.route("/leavers")
@requires("view_children")
def leavers() -> Any:
    """List children who are leaving, with their transfer and its clock."""
    school, today = current_school(), date.today()
    pupils = db().scalars(
        select(Pupil).where(Pupil.leaving_date.is_not(None)).order_by(Pupil.leaving_date, Pupil.id)
    )
    rows = []
    for pupil in pupils:
        transfer = db().scalar(
            select(Transfer)
            .where(Transfer.pupil_id == pupil.id, Transfer.direction == OUTGOING)
            .order_by(Transfer.id.desc())
        )
        deadline = (
            transfer.deadline if transfer else deadline_for(school, pupil.leaving_date, today)
        )
        is_open = transfer is None or progress.is_open(transfer)
        rows.append(
            {
                "pupil": pupil,
                "transfer": transfer,
                "deadline": deadline,
                "overdue": bool(deadline and is_open and deadline < today),
            }
        )
    return render_template("dsl/leavers.html", rows=rows, today=today)


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
