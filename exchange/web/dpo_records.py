"""The DPO's record tools: the audit explorer, the auditor's register and the UPN lookup."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, render_template, request

from exchange.audit.explorer import (
    CSV_HEADER,
    AuditFilter,
    all_matching,
    child_objects,
    csv_rows,
    events,
    explore,
    user_names,
)
from exchange.errors import ExchangeError
from exchange.packaging.offline_csv import spreadsheet_csv
from exchange.retention.lookup import trail
from exchange.retention.register import register, register_csv, register_pdf
from exchange.retention.rules import london_today
from exchange.web.access import audit_view, current_school, current_user, db, instance, requires
from exchange.web.dpo_forms import download, read_date, read_page, read_period, read_upn

dpo_records = Blueprint("dpo_records", __name__)
FILTER_FIELDS = ("user", "upn", "event", "from", "to")


def _school_id() -> int:
    user = current_user()
    assert user is not None
    return user.school_id


@dpo_records.route("/dpo/audit")
@requires("explore_audit")
def audit_explorer() -> Any:
    """Show who viewed, exported or changed which child's record, filtered and paged."""
    school_id, args, errors = _school_id(), request.args, {}
    names = user_names(db(), school_id)
    user_text = args.get("user", "")
    user_id = int(user_text) if user_text.isdigit() and int(user_text) in names else None
    if user_text and user_id is None:
        errors["user"] = "Choose a person from the list"
    upn = read_upn(args, errors)
    known_events = events(db(), school_id)
    event = args.get("event") or None
    if event and event not in known_events:
        errors["event"] = "Choose an event from the list"
        event = None
    since, until = read_date(args, "from", errors), read_date(args, "to", errors)
    child = child_objects(db(), school_id, instance().instance_key, upn) if upn else None
    wanted = AuditFilter(user_id, child, event, since, until)
    key, csv = instance().instance_key, args.get("format") == "csv"
    audit_view(
        "dpo.audit_exported" if csv else "dpo.audit_explored",
        "audit_log",
        school_id,
        user_id=user_id,
        pupil_ref=child.ref if child else None,
        event_chosen=event,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
    )
    db().commit()
    if csv and not errors:
        rows = csv_rows(all_matching(db(), school_id, key, wanted), names)
        return download(spreadsheet_csv(CSV_HEADER, rows), "text/csv", "audit-log.csv")
    result = explore(db(), school_id, key, wanted, read_page(args))
    kept = {name: args.get(name, "") for name in FILTER_FIELDS if args.get(name)}
    return render_template(
        "dpo/audit_explorer.html",
        result=result,
        names=names,
        events=known_events,
        form=kept,
        child=child,
        errors=errors,
        query=lambda **extra: urlencode({**kept, **extra}),
    ), (400 if errors else 200)


@dpo_records.route("/dpo/register")
@requires("view_register")
def auditor_register() -> Any:
    """Show, or give as CSV or PDF, every transfer in and out and every disposal in a period."""
    school_id, args, errors = _school_id(), request.args, {}
    today = london_today()
    chosen = bool(args.get("from") or args.get("to"))
    since, until = read_period(args, today.replace(month=1, day=1), 0, errors)
    if not args.get("to") and "from" not in errors:
        until = today if since <= today else since
    lines = [] if errors else register(db(), school_id, instance().instance_key, since, until)
    wanted = args.get("format")
    audit_view(
        "dpo.register_exported" if wanted in ("csv", "pdf") else "dpo.register_viewed",
        "register",
        school_id,
        since=since.isoformat(),
        until=until.isoformat(),
        lines=len(lines),
        format=wanted if wanted in ("csv", "pdf") else "page",
    )
    db().commit()
    name = f"register-{since.isoformat()}-to-{until.isoformat()}"
    if wanted == "csv" and not errors:
        return download(register_csv(lines), "text/csv", f"{name}.csv")
    if wanted == "pdf" and not errors:
        pdf = register_pdf(current_school(), since, until, lines)
        return download(pdf, "application/pdf", f"{name}.pdf")
    period = urlencode({"from": since.isoformat(), "to": until.isoformat()})
    return render_template(
        "dpo/register.html",
        lines=lines,
        since=since,
        until=until,
        chosen=chosen,
        form=args,
        period=period,
        errors=errors,
    ), (400 if errors else 200)


@dpo_records.route("/dpo/lookup")
@requires("look_up_disposals")
def upn_lookup() -> Any:
    """From a UPN: the child's transfers, receipts, holds and disposal certificates."""
    school_id, args, errors = _school_id(), request.args, {}
    upn = read_upn(args, errors)
    found = None
    if upn:
        try:
            found = trail(db(), school_id, instance().instance_key, upn)
        except ExchangeError as exc:
            errors["upn"] = exc.message
    elif "upn" in args and "upn" not in errors:
        errors["upn"] = "Enter the child's UPN"
    audit_view(
        "dpo.child_looked_up",
        "pupil_ref",
        found.ref if found else "none",
        transfers=len(found.transfers) if found else 0,
        disposals=len(found.disposals) if found else 0,
    )
    db().commit()
    return render_template("dpo/lookup.html", found=found, form=args, errors=errors), (
        400 if errors else 200
    )


@dpo_records.route("/dpo")
@requires("view_retention")
def tools() -> Any:
    """List the DPO's tools this person may use."""
    return render_template("dpo/tools.html")
