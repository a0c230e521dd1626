"""The DPO's retention tools: holds by child, incident or category, any period's forecast,
purge history and disposal certificates as PDF."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from exchange.errors import ExchangeError
from exchange.packaging.keys import KIND_SIGNING, all_public_keys, public_key_of
from exchange.packaging.offline_csv import spreadsheet_csv
from exchange.records.models import Category, Incident, Pupil
from exchange.records.sealed_reads import pupil_upns, upn_is
from exchange.retention.certificate import verify_certificate
from exchange.retention.certificate_pdf import render_certificate_pdf
from exchange.retention.forecast import forecast
from exchange.retention.history import purge_history
from exchange.retention.holds import list_holds, place_hold, release_hold
from exchange.retention.models import DisposalCertificate
from exchange.retention.refs import pupil_ref, school_secret
from exchange.retention.rules import london_today
from exchange.transfers.actors import Actor
from exchange.web.access import (
    audit_view,
    current_user,
    db,
    instance,
    own,
    requires,
    requires_fresh_second_factor,
)
from exchange.web.dpo_forms import download, read_period, read_upn

dpo_retention = Blueprint("dpo_retention", __name__)
FORECAST_DAYS = 90
FORECAST_HEADER = (
    "pupil reference",
    "first due",
    "incidents",
    "documents",
    "held",
    "whole file",
    "incidents by category",
    "documents by type",
)


def _school_id() -> int:
    user = current_user()
    assert user is not None
    return user.school_id


def _pupil_by_upn(upn: str) -> int | None:
    school_id = _school_id()
    return db().scalar(
        select(Pupil.id).where(Pupil.school_id == school_id, upn_is(db(), school_id, upn))
    )


def _hold_targets(holds: list[Any]) -> dict[int, str]:
    """Describe what each hold is on: a child's reference, an incident of one, or a category."""
    school_id = _school_id()
    rows = db().execute(
        select(Incident.id, Incident.pupil_id).where(
            Incident.school_id == school_id,
            Incident.id.in_([h.incident_id for h in holds if h.incident_id]),
        )
    )
    incidents: dict[int, int] = dict(rows.all())
    pupil_ids = {h.pupil_id for h in holds if h.pupil_id} | set(incidents.values())
    upns = pupil_upns(db(), pupil_ids)
    secret = school_secret(instance().instance_key, school_id)

    def ref(pupil_id: int | None) -> str:
        upn = upns.get(pupil_id) if pupil_id else None
        return pupil_ref(secret, upn)[:18] + "…" if upn else "a child whose records are gone"

    described = {}
    for hold in holds:
        if hold.scope == "category":
            described[hold.id] = f"Category {hold.category_path}"
        elif hold.scope == "incident":
            described[hold.id] = (
                f"Incident {hold.incident_id} of {ref(incidents.get(hold.incident_id))}"
            )
        else:
            described[hold.id] = f"Child {ref(hold.pupil_id)}"
    return described


def _holds_page(errors: dict[str, str], status: int = 200) -> Any:
    school_id, args = _school_id(), request.values
    lookup_errors: dict[str, str] = {}
    upn = read_upn(request.args, lookup_errors, "child")
    incidents: list[Incident] = []
    child_ref = None
    if upn:
        pupil_id = _pupil_by_upn(upn)
        if pupil_id is None:
            lookup_errors["child"] = "No child with this UPN has records at this school"
        else:
            child_ref = pupil_ref(school_secret(instance().instance_key, school_id), upn)
            incidents = list(
                db().scalars(
                    select(Incident)
                    .where(Incident.school_id == school_id, Incident.pupil_id == pupil_id)
                    .order_by(Incident.occurred_at)
                )
            )
    holds = list_holds(db(), school_id, include_released=True)
    categories = (
        db()
        .scalars(
            select(Category.path).where(Category.school_id == school_id).order_by(Category.path)
        )
        .all()
    )
    audit_view("dpo.holds_viewed", "legal_holds", school_id, holds=len(holds))
    db().commit()
    return render_template(
        "dpo/holds.html",
        holds=holds,
        targets=_hold_targets(holds),
        categories=categories,
        incidents=incidents,
        child_ref=child_ref,
        form=args,
        errors={**lookup_errors, **errors},
    ), (400 if lookup_errors and status == 200 else status)


@dpo_retention.route("/dpo/holds")
@requires("view_retention")
def holds() -> Any:
    """List every hold with its reason, placer and releaser; place one by choosing what."""
    return _holds_page({})


def _target(scope: str, errors: dict[str, str]) -> str | None:
    """Turn the form's choice into the hold service's target: a pupil or incident id, a path."""
    form = request.form
    if scope == "pupil":
        upn = read_upn(form, errors)
        if upn is None:
            errors.setdefault("upn", "Enter the child's UPN")
            return None
        pupil_id = _pupil_by_upn(upn)
        if pupil_id is None:
            errors["upn"] = "No child with this UPN has records at this school"
            return None
        return str(pupil_id)
    if scope == "incident":
        chosen = form.get("incident", "")
        if not chosen.isdigit():
            errors["incident"] = "Choose one of the child's incidents"
            return None
        return chosen
    if scope == "category":
        path = form.get("category", "")
        if not path:
            errors["category"] = "Choose a category"
            return None
        return path
    errors["scope"] = "Choose what to hold: a child, an incident or a category"
    return None


@dpo_retention.route("/dpo/holds", methods=["POST"])
@requires("place_holds")
@requires_fresh_second_factor
def place() -> Any:
    """Place a hold on the chosen child, incident or category, with a reason."""
    user = current_user()
    assert user is not None
    scope, errors = request.form.get("scope", ""), {}
    target = _target(scope, errors)
    reason_field = f"reason-{scope}" if scope in ("pupil", "incident", "category") else "scope"
    if not request.form.get("reason", "").strip() and scope in ("pupil", "incident", "category"):
        errors[reason_field] = "Give the reason for the hold"
    if errors or target is None:
        return _holds_page(errors, 400)
    try:
        place_hold(
            db(),
            user.school_id,
            scope,
            target,
            request.form.get("reason", ""),
            Actor.of(user, g.get("request_id")),
        )
    except ExchangeError as exc:
        db().rollback()
        if exc.status_code == 403:
            raise
        field = {"pupil": "upn", "incident": "incident", "category": "category"}[scope]
        return _holds_page({field: exc.message}, 400)
    return redirect(url_for("dpo_retention.holds"))


@dpo_retention.route("/dpo/holds/<int:hold_id>/release", methods=["POST"])
@requires("release_holds")
@requires_fresh_second_factor
def release(hold_id: int) -> Any:
    """Release a hold, with a reason."""
    user = current_user()
    assert user is not None
    try:
        release_hold(
            db(),
            user.school_id,
            hold_id,
            request.form.get("reason", ""),
            Actor.of(user, g.get("request_id")),
        )
    except ExchangeError as exc:
        db().rollback()
        if exc.status_code in (403, 404):
            abort(exc.status_code)
        return _holds_page({f"release-{hold_id}": exc.message}, 400)
    return redirect(url_for("dpo_retention.holds"))


@dpo_retention.route("/dpo/forecast")
@requires("view_retention")
def forecast_page() -> Any:
    """Show what becomes due for destruction in any period, or give it as CSV."""
    school_id, errors = _school_id(), {}
    since, until = read_period(request.args, london_today(), FORECAST_DAYS, errors)
    result = None
    if not errors:
        days = (until - since).days
        result = forecast(db(), school_id, instance().instance_key, since, days)
    csv = request.args.get("format") == "csv" and result is not None
    audit_view(
        "dpo.forecast_exported" if csv else "dpo.forecast_viewed",
        "retention_forecast",
        school_id,
        since=since.isoformat(),
        until=until.isoformat(),
        pupils=len(result.pupils) if result else 0,
    )
    db().commit()
    if csv:
        assert result is not None
        rows = [
            (
                notice.pupil_ref,
                notice.first_due.isoformat(),
                str(notice.incidents),
                str(notice.documents),
                str(notice.held),
                "yes" if notice.whole_file else "no",
                json.dumps(dict(notice.incidents_by_category), sort_keys=True),
                json.dumps(dict(notice.documents_by_type), sort_keys=True),
            )
            for notice in result.pupils
        ]
        name = f"retention-forecast-{since.isoformat()}-to-{until.isoformat()}.csv"
        return download(spreadsheet_csv(FORECAST_HEADER, rows), "text/csv", name)
    return render_template(
        "dpo/forecast.html",
        result=result,
        since=since,
        until=until,
        form=request.args,
        period=urlencode({"from": since.isoformat(), "to": until.isoformat()}),
        errors=errors,
    ), (400 if errors else 200)


@dpo_retention.route("/dpo/purges")
@requires("view_retention")
def purges() -> Any:
    """List each purge run with its review, approver, counts and certificate."""
    school_id = _school_id()
    runs = purge_history(db(), school_id)
    audit_view("dpo.purges_viewed", "purge_history", school_id, runs=len(runs))
    return render_template("dpo/purges.html", runs=runs)


@dpo_retention.route("/dpo/certificates/<int:certificate_id>.pdf")
@requires("view_retention")
def certificate_pdf(certificate_id: int) -> Any:
    """Verify a disposal certificate with the school's keys and give it as a PDF."""
    row = own(DisposalCertificate, certificate_id)
    keys = [public_key_of(key) for key in all_public_keys(db(), row.school_id, KIND_SIGNING)]
    try:
        payload = verify_certificate(row.jws, keys)  # type: ignore[arg-type]
    except ExchangeError as exc:
        return render_template(
            "error.html", title="The certificate does not verify", message=exc.message
        ), 409
    audit_view("retention.certificate_downloaded", "disposal_certificate", row.id)
    pdf = render_certificate_pdf(payload, row.jws)
    return download(pdf, "application/pdf", f"disposal-certificate-{row.id}.pdf")
