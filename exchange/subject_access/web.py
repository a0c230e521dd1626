"""Subject access pages: the register, logging a request, preparing, approving and sending it.

Views are thin: they read the form, call the service, and show its refusal in words. Every
view of a request is audited; the service audits every decision.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from exchange.auth.permissions import can
from exchange.errors import CryptoError, ExchangeError
from exchange.records.models import Pupil, StaffMember
from exchange.subject_access import service
from exchange.subject_access.exemptions import CATALOGUE
from exchange.subject_access.models import SubjectAccessRequest
from exchange.subject_access.register import register
from exchange.subject_access.schedule import build_schedule
from exchange.subject_access.steps import audit_view
from exchange.transfers.actors import Actor
from exchange.web.access import (
    attempt,
    current_school,
    current_user,
    db,
    has_fresh_second_factor,
    instance,
    own,
    requires,
    requires_fresh_second_factor,
)

pages = Blueprint("subject_access", __name__, url_prefix="/subject-access")


def init_app(app: Flask) -> None:
    """Register the subject access pages (CSRF protection applies to every form)."""
    app.register_blueprint(pages)


def _actor() -> Actor:
    user = current_user()
    assert user is not None
    return Actor.of(user, g.get("request_id"))


def _request(request_id: int) -> SubjectAccessRequest:
    try:
        return own(SubjectAccessRequest, request_id)
    except CryptoError:
        abort(
            410,
            "The child's file, and with it this request's details, has been destroyed; "
            "the register keeps its dates and decisions.",
        )


def _day(name: str, errors: dict[str, str], required: bool = True) -> date | None:
    raw = request.form.get(name, "").strip()
    if not raw and not required:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Enter a date, for example 2026-11-30"
        return None


@pages.route("")
@requires("sar.view")
def index() -> Any:
    """Show the register: every request, the most urgent first, overdue ones marked."""
    rows = register(db(), current_school().id, date.today())
    return render_template("subject_access/index.html", rows=rows)


@pages.route("/new", methods=["GET", "POST"])
@requires("sar.log")
def new() -> Any:
    """Log a request: who asked, for whom, how they were checked, when it arrived."""
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        pupil = _chosen_child()
        if pupil is None:
            errors["pupil_id"] = "Choose the child the request is about (or enter their UPN)"
        received = _day("received_on", errors)
        scope_from = _day("scope_from", errors, required=False)
        scope_to = _day("scope_to", errors, required=False)
        if not errors:
            made: list[SubjectAccessRequest] = []
            message = attempt(
                lambda: made.append(
                    service.log_request(
                        db(),
                        current_school(),
                        _actor(),
                        pupil,
                        requester_name=form.get("requester_name", ""),
                        relationship=form.get("relationship", ""),
                        received_on=received,
                        identity_check=form.get("identity_check", ""),
                        authority_check=form.get("authority_check", ""),
                        linked_to_child=form.get("linked") == "yes",
                        contact=form.get("contact", ""),
                        scope_from=scope_from,
                        scope_to=scope_to,
                    )
                )
            )
            if message:
                errors["requester_name"] = message[:1].upper() + message[1:]
            else:
                return redirect(url_for("subject_access.show", request_id=made[0].id))
    pupils: list[Pupil] = []
    if can(_actor().role, "view_children"):
        found = db().scalars(select(Pupil).where(Pupil.school_id == current_school().id))
        pupils = sorted(found, key=lambda p: (p.surname or "", p.forename or ""))
    return render_template("subject_access/new.html", errors=errors, form=form, pupils=pupils), (
        400 if errors else 200
    )


def _chosen_child() -> Pupil | None:
    """Return the child chosen from the list (DSLs) or found by UPN (the DPO), of this school."""
    from exchange.records.sealed_reads import upn_is
    from exchange.records.upn import validate_upn

    school_id = current_school().id
    pupil_id = request.form.get("pupil_id", "")
    if pupil_id.isdigit() and can(_actor().role, "view_children"):
        pupil = db().get(Pupil, int(pupil_id))
        return pupil if pupil is not None and pupil.school_id == school_id else None
    upn = request.form.get("upn", "").strip().upper()
    try:
        upn = validate_upn(upn)
    except ExchangeError:
        return None
    return db().scalar(
        select(Pupil).where(Pupil.school_id == school_id, upn_is(db(), school_id, upn))
    )


@pages.route("/<int:request_id>")
@requires("sar.view")
def show(request_id: int, error: str | None = None) -> Any:
    """Show a request: its clock, what is still to do, the items, flags and exemptions."""
    sar = _request(request_id)
    audit_view(db(), sar, _actor(), "request")
    staff = db().scalars(
        select(StaffMember).where(StaffMember.school_id == sar.school_id).order_by(StaffMember.name)
    )
    return render_template(
        "subject_access/show.html",
        sar=sar,
        error=error,
        today=date.today(),
        problems=service.problems(sar),
        schedule=build_schedule(sar),
        exemptions=CATALOGUE,
        staff=list(staff),
    ), (400 if error else 200)


def _post(request_id: int, step: Callable[[SubjectAccessRequest], Any]) -> Any:
    """Run one service step on the request; show the refusal, or go back to the request."""
    sar = _request(request_id)
    message = attempt(lambda: step(sar))
    if message:
        return show(request_id, message[:1].upper() + message[1:])
    return redirect(url_for("subject_access.show", request_id=request_id))


@pages.route("/<int:request_id>/checks", methods=["POST"])
@requires("sar.log")
def checks(request_id: int) -> Any:
    """Record how identity and parental responsibility were checked."""
    form = request.form
    return _post(
        request_id,
        lambda sar: service.record_checks(
            db(),
            sar,
            _actor(),
            identity_check=form.get("identity_check", ""),
            authority_check=form.get("authority_check", ""),
            linked_to_child=form.get("linked") == "yes",
        ),
    )


@pages.route("/<int:request_id>/child-views", methods=["POST"])
@requires("sar.log")
def child_views(request_id: int) -> Any:
    """Record whether the child was consulted, and what they said."""
    form = request.form
    return _post(
        request_id,
        lambda sar: service.record_child_views(
            db(),
            sar,
            _actor(),
            consulted=form.get("consulted") == "yes",
            views=form.get("views", ""),
        ),
    )


@pages.route("/<int:request_id>/extend", methods=["POST"])
@requires("sar.decide")
def extend(request_id: int) -> Any:
    """Extend a complex request by one or two further months."""
    errors: dict[str, str] = {}
    told_on = _day("told_on", errors)
    months = request.form.get("months", "")
    if errors or months not in ("1", "2"):
        return show(request_id, "Choose one or two months and the date the requester was told")
    return _post(
        request_id,
        lambda sar: service.extend(
            db(),
            sar,
            _actor(),
            months=int(months),
            reason=request.form.get("reason", ""),
            told_on=told_on,
        ),
    )


@pages.route("/<int:request_id>/items", methods=["POST"])
@requires("sar.prepare")
def items(request_id: int) -> Any:
    """Include or leave out one record."""
    item_id = request.form.get("item_id", "")
    if not item_id.isdigit():
        return show(request_id, "Choose a record")
    return _post(
        request_id,
        lambda sar: service.select_item(
            db(),
            sar,
            _actor(),
            int(item_id),
            included=request.form.get("included") == "yes",
            reason=request.form.get("reason", ""),
        ),
    )


@pages.route("/<int:request_id>/people", methods=["POST"])
@requires("sar.prepare")
def people(request_id: int) -> Any:
    """Remove an adult third party, or a member of staff for a stated reason."""
    staff_id = request.form.get("staff_id", "")
    return _post(
        request_id,
        lambda sar: service.add_person(
            db(),
            sar,
            _actor(),
            name=request.form.get("name", ""),
            staff_id=int(staff_id) if staff_id.isdigit() else None,
            reason=request.form.get("reason", ""),
        ),
    )


@pages.route("/<int:request_id>/redact", methods=["POST"])
@requires("sar.prepare")
def redact(request_id: int) -> Any:
    """Redact every included record for this requester."""
    return _post(request_id, lambda sar: service.redact(db(), instance(), sar, _actor()))


@pages.route("/<int:request_id>/review", methods=["POST"])
@requires("sar.prepare")
def review(request_id: int) -> Any:
    """Decide one redaction flag."""
    item_id = request.form.get("item_id", "")
    if not item_id.isdigit():
        return show(request_id, "Choose a flagged record")
    return _post(
        request_id,
        lambda sar: service.review(
            db(),
            sar,
            _actor(),
            int(item_id),
            resolution=request.form.get("resolution", ""),
            note=request.form.get("note", ""),
        ),
    )


@pages.route("/<int:request_id>/withhold", methods=["POST"])
@requires("sar.prepare")
def withhold(request_id: int) -> Any:
    """Withhold a record or a passage under a named exemption."""
    item_id = request.form.get("item_id", "")
    if not item_id.isdigit():
        return show(request_id, "Choose the record to withhold from")
    form = request.form
    return _post(
        request_id,
        lambda sar: service.withhold(
            db(),
            sar,
            _actor(),
            int(item_id),
            exemption=form.get("exemption", ""),
            reason=form.get("reason", ""),
            consulted=form.get("consulted", ""),
            passage=form.get("passage", ""),
        ),
    )


@pages.route("/<int:request_id>/submit", methods=["POST"])
@requires("sar.prepare")
def submit(request_id: int) -> Any:
    """Send the prepared response for a second person's approval."""
    return _post(request_id, lambda sar: service.submit(db(), sar, _actor()))


@pages.route("/<int:request_id>/send-back", methods=["POST"])
@requires("sar.approve")
def send_back(request_id: int) -> Any:
    """Return the response to the DSL with what should change."""
    return _post(
        request_id,
        lambda sar: service.send_back(
            db(), instance(), sar, _actor(), request.form.get("note", "")
        ),
    )


@pages.route("/<int:request_id>/refuse", methods=["POST"])
@requires("sar.decide")
def refuse(request_id: int) -> Any:
    """Refuse the request, with the reason the requester is told."""
    return _post(
        request_id, lambda sar: service.refuse(db(), sar, _actor(), request.form.get("reason", ""))
    )


@pages.route("/<int:request_id>/approve", methods=["GET", "POST"])
@requires("sar.approve")
@requires_fresh_second_factor
def approve(request_id: int) -> Any:
    """Approve the response as the second person, just after confirming the second factor."""
    sar = _request(request_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            errors["confirm"] = "Confirm that you approve this response"
        else:
            message = attempt(
                lambda: service.approve(
                    db(), instance(), sar, _actor(), fresh_second_factor=has_fresh_second_factor()
                )
            )
            if not message:
                return redirect(url_for("subject_access.show", request_id=sar.id))
            errors["confirm"] = message[:1].upper() + message[1:]
    audit_view(db(), sar, _actor(), "approval")
    return render_template(
        "subject_access/approve.html",
        sar=sar,
        errors=errors,
        schedule=build_schedule(sar),
        problems=service.problems(sar),
    ), (400 if errors else 200)


@pages.route("/<int:request_id>/response.pdf")
@requires("sar.read_response")
def response_pdf(request_id: int) -> Any:
    """Return the approved response PDF (audited)."""
    sar = _request(request_id)
    if not sar.response_storage_key:
        abort(404)
    data = service.response_bytes(db(), instance(), sar)
    audit_view(db(), sar, _actor(), "response_pdf")
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="response-{sar.request_uid[:8]}.pdf"'
        },
    )


@pages.route("/<int:request_id>/send", methods=["POST"])
@requires("sar.send")
def send(request_id: int) -> Any:
    """Send the approved response: an AES-256 zip (passphrase shown once) or printed."""
    sar = _request(request_id)
    method = request.form.get("method", "")
    sent: list[Any] = []
    message = attempt(
        lambda: sent.append(service.send(db(), instance(), sar, _actor(), method=method))
    )
    if message:
        return show(request_id, message[:1].upper() + message[1:])
    return render_template("subject_access/sent.html", sar=sar, package=sent[0])


@pages.route("/<int:request_id>/package")
@requires("sar.send")
def package(request_id: int) -> Any:
    """Download the encrypted zip while it waits for the requester's acknowledgement."""
    from exchange.subject_access.package import package_path

    sar = _request(request_id)
    path = package_path(instance(), sar)
    if sar.state != "sent" or sar.delivery != "zip" or not path.exists():
        abort(404)
    audit_view(db(), sar, _actor(), "package")
    return Response(
        path.read_bytes(),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="response-{sar.request_uid[:8]}.zip"'
        },
    )


@pages.route("/<int:request_id>/acknowledge", methods=["POST"])
@requires("sar.send")
def acknowledge(request_id: int) -> Any:
    """Close the request with the receipt code the requester read back."""
    return _post(
        request_id,
        lambda sar: service.acknowledge(
            db(),
            instance(),
            sar,
            _actor(),
            code=request.form.get("code", ""),
            confirmed_by=request.form.get("confirmed_by", ""),
        ),
    )


@pages.route("/<int:request_id>/export")
@requires("sar.export")
def export(request_id: int) -> Any:
    """Download the full handling record as JSON (the DPO; audited)."""
    from exchange.subject_access.export import handling_record

    sar = _request(request_id)
    audit_view(db(), sar, _actor(), "export")
    body = json.dumps(handling_record(db(), sar), indent=2, ensure_ascii=False)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="sar-{sar.request_uid[:8]}.json"'},
    )
