"""`exchange dpo`: the DPO's audit explorer, register and UPN lookup from the command line.

Each command names the acting DPO (``--user-id``, with their current code, ``--code``): what
they read is recorded in the audit log, as in the web. Children are shown by reference only.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.auth.permissions import roles_for
from exchange.cli_support import acting_user_id
from exchange.db import transaction
from exchange.records.models import School
from exchange.retention.actors import Actor, load_actor
from exchange.retention.rules import london_today

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _dpo(session: Session, school_id: int, user_id: int | None, permission: str) -> Actor:
    if user_id is None:
        raise click.UsageError("name the acting DPO with --user-id")
    return load_actor(session, school_id, user_id, tuple(sorted(roles_for(permission))))


def _audit(
    session: Session,
    school_id: int,
    actor: Actor,
    event: str,
    what: tuple[str, int | str],
    **details: Any,
) -> None:
    """Record what the DPO read, as the web does (ids and references only)."""
    object_type, object_id = what
    record_event(
        session, school_id, actor.user_id, actor.role, event, object_type, object_id, "cli", details
    )


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@click.group()
def dpo() -> None:
    """The DPO's audit explorer, register for an auditor and UPN lookup."""


@dpo.command("lookup")
@click.argument("upn")
@acting_user_id("The acting DPO (their current code is asked for).")
@click.pass_obj
def lookup_command(obj: dict[str, Any], upn: str, user_id: int | None) -> None:
    """Show a child's transfers, receipts, holds and disposal certificates from a UPN."""
    from exchange.retention.lookup import trail

    factory, school_id = obj["session_factory"], obj["school_id"]
    with transaction(factory) as session:
        actor = _dpo(session, school_id, user_id, "look_up_disposals")
        found = trail(session, school_id, obj["instance"].instance_key, upn)
        _audit(session, school_id, actor, "dpo.child_looked_up", ("pupil_ref", found.ref))
        click.echo(f"child {found.ref}")
        if found.on_record:
            click.echo(f"  held now: {found.incidents} incidents, {found.documents} documents")
        else:
            click.echo("  held now: nothing")
        for transfer in found.transfers:
            receipt = (
                transfer.receipt_verified_at.isoformat() if transfer.receipt_verified_at else "none"
            )
            click.echo(
                f"  transfer {transfer.transfer_uid[:8]} {transfer.direction} "
                f"{transfer.partner.name}: {transfer.state}, receipt verified {receipt}"
            )
        for disposal in found.disposals:
            whole = "whole file" if disposal.whole_file else "some records"
            click.echo(
                f"  destroyed ({whole}): certificate {disposal.certificate.id}, issued "
                f"{disposal.certificate.issued_at.isoformat()}, {disposal.incidents} incidents, "
                f"{disposal.documents} documents"
            )
        for hold in found.holds:
            state = "released" if hold.released_at else "in force"
            click.echo(f"  hold {hold.id} ({state}): {hold.reason}")
        if found.destroyed:
            click.echo("This child's file was destroyed.")


@dpo.command("register")
@click.option("--from", "since", type=_DATE, required=True, help="First day (YYYY-MM-DD).")
@click.option("--to", "until", type=_DATE, help="Last day (default: today).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path))
@acting_user_id("The acting DPO (their current code is asked for).")
@click.pass_obj
def register_command(
    obj: dict[str, Any],
    since: datetime,
    until: datetime | None,
    csv_path: Path | None,
    pdf_path: Path | None,
    user_id: int | None,
) -> None:
    """Write the period's transfers in and out and disposals as CSV and/or PDF."""
    from exchange.retention.register import register, register_csv, register_pdf

    factory, school_id = obj["session_factory"], obj["school_id"]
    first, last = since.date(), _day(until) or london_today()
    if last < first:
        raise click.UsageError("--to must not be before --from")
    with transaction(factory) as session:
        actor = _dpo(session, school_id, user_id, "view_register")
        lines = register(session, school_id, obj["instance"].instance_key, first, last)
        if csv_path:
            csv_path.write_bytes(register_csv(lines))
        if pdf_path:
            pdf_path.write_bytes(register_pdf(session.get(School, school_id), first, last, lines))
        _audit(
            session, school_id, actor, "dpo.register_exported", ("register", school_id),
            since=first.isoformat(), until=last.isoformat(), lines=len(lines),
        )  # fmt: skip
    for line in lines:
        click.echo(f"{line.day} {line.kind:<12} {line.reference[:12]:<12} {line.pupil_ref[:18]}…")
    click.echo(f"{len(lines)} lines from {first} to {last}")


@dpo.command("audit")
@click.option("--upn", help="Only entries about this child.")
@click.option("--by", "by_user", type=int, help="Only entries by this user id.")
@click.option("--event", help="Only this event, e.g. record.viewed.")
@click.option("--from", "since", type=_DATE, help="First day (YYYY-MM-DD, Europe/London).")
@click.option("--to", "until", type=_DATE, help="Last day (YYYY-MM-DD, Europe/London).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path))
@acting_user_id("The acting DPO (their current code is asked for).")
@click.pass_obj
def audit_command(
    obj: dict[str, Any],
    upn: str | None,
    by_user: int | None,
    event: str | None,
    since: datetime | None,
    until: datetime | None,
    csv_path: Path | None,
    user_id: int | None,
) -> None:
    """Show who viewed, exported or changed which child's record; optionally write CSV."""
    from exchange.audit.explorer import (
        CSV_HEADER,
        AuditFilter,
        all_matching,
        child_objects,
        csv_rows,
        user_names,
    )
    from exchange.packaging.offline_csv import spreadsheet_csv
    from exchange.records.upn import validate_upn

    factory, school_id = obj["session_factory"], obj["school_id"]
    key = obj["instance"].instance_key
    with transaction(factory) as session:
        actor = _dpo(session, school_id, user_id, "explore_audit")
        child = child_objects(session, school_id, key, validate_upn(upn)) if upn else None
        wanted = AuditFilter(by_user, child, event, _day(since), _day(until))
        entries = all_matching(session, school_id, key, wanted)
        names = user_names(session, school_id)
        _audit(
            session, school_id, actor, "dpo.audit_exported", ("audit_log", school_id),
            user_id=by_user, pupil_ref=child.ref if child else None, event_chosen=event,
        )  # fmt: skip
    rows = csv_rows(entries, names)
    if csv_path:
        csv_path.write_bytes(spreadsheet_csv(CSV_HEADER, rows))
    for row in rows[:50]:
        click.echo(f"{row[0][:19]} {row[1]:<24} {row[3]:<32} {row[6][:18]}")
    click.echo(f"{len(rows)} entries")
