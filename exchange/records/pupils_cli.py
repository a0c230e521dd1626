"""`exchange pupils`: the school's leavers and their UPNs; names only for a DSL or deputy."""

from __future__ import annotations

from typing import Any

import click

from exchange.transfers.cli_show import child_line, person_option


@click.group()
def pupils() -> None:
    """List the school's pupils and their UPNs (names for DSLs only).

    A transfer starts from a child's UPN: `exchange pupils list` shows the leavers, then
    `exchange transfers create --upn UPN --to URN --as EMAIL`.
    """


def _viewer(session: Any, school_id: int, act_as: str | None) -> Any:
    """Return the asking user, refusing names to anyone the permission table does not allow."""
    from exchange.auth.permissions import can, refusal
    from exchange.cli_support import user_by_email

    if act_as is None:
        return None
    user = user_by_email(session, school_id, act_as)
    if not can(user.role, "view_children"):
        raise click.ClickException(refusal(user.role, "view_children") or "names refused")
    return user


def _audit(session: Any, user: Any, pupil_ids: list[int], page: str) -> None:
    from exchange.audit.service import record_event

    for pupil_id in pupil_ids:
        record_event(
            session,
            user.school_id,
            user.id,
            user.role,
            "record.viewed",
            "pupil",
            str(pupil_id),
            "cli",
            {"via": "cli", "page": page},
        )


@pupils.command("list")
@click.option("--all", "everyone", is_flag=True, help="Every pupil, not only the leavers.")
@person_option
@click.pass_obj
def list_pupils(obj: dict[str, Any], everyone: bool, act_as: str | None) -> None:
    """Print the leavers: UPN, leaving date, destination, transfer state (names for DSLs)."""
    from sqlalchemy import select

    from exchange.db import transaction
    from exchange.notifications.worklist import most_meaningful
    from exchange.records.models import Pupil
    from exchange.transfers.models import OUTGOING, Transfer

    with transaction(obj["session_factory"]) as session:
        school_id = obj["school_id"]
        user = _viewer(session, school_id, act_as)
        query = select(Pupil).where(Pupil.school_id == school_id)
        if not everyone:
            query = query.where(Pupil.leaving_date.is_not(None))
        rows = session.scalars(query.order_by(Pupil.leaving_date, Pupil.id)).all()
        transfers: dict[int, list[Transfer]] = {}
        for transfer in session.scalars(
            select(Transfer).where(Transfer.school_id == school_id, Transfer.direction == OUTGOING)
        ):
            transfers.setdefault(transfer.pupil_id or 0, []).append(transfer)
        if not rows:
            click.echo("no pupils" if everyone else "no leavers: `--all` lists every pupil")
        for pupil in rows:
            latest = most_meaningful(transfers.get(pupil.id, ()))
            state = f"{latest.state} {latest.transfer_uid[:8]}" if latest else "not started"
            leaving = pupil.leaving_date.isoformat() if pupil.leaving_date else "-"
            to = pupil.destination_urn or pupil.destination_name or "destination unknown"
            name = f"  {pupil.forename} {pupil.surname}" if user else ""
            click.echo(
                f"{pupil.upn}  year {pupil.year_group or '-':<3} leaving {leaving}  to {to}  "
                f"transfer {state}{name}"
            )
        if user is not None:
            _audit(session, user, [p.id for p in rows], "pupils list")


@pupils.command("show")
@click.argument("upn")
@person_option
@click.pass_obj
def show_pupil(obj: dict[str, Any], upn: str, act_as: str | None) -> None:
    """Print one child by UPN with their transfers (name and date of birth for DSLs)."""
    from sqlalchemy import select

    from exchange.db import transaction
    from exchange.records.models import Pupil
    from exchange.records.sealed_reads import upn_is
    from exchange.records.upn import validate_upn
    from exchange.transfers.models import Transfer

    with transaction(obj["session_factory"]) as session:
        school_id = obj["school_id"]
        user = _viewer(session, school_id, act_as)
        pupil = session.scalar(
            select(Pupil).where(
                Pupil.school_id == school_id, upn_is(session, school_id, validate_upn(upn))
            )
        )
        if pupil is None:
            raise click.UsageError("no pupil with that UPN at this school")
        click.echo(f"child     {child_line(pupil, pupil.upn, user is not None)}")
        click.echo(f"year      {pupil.year_group or '-'}")
        leaving = pupil.leaving_date.isoformat() if pupil.leaving_date else "not leaving"
        click.echo(f"leaving   {leaving}")
        destination = " ".join(
            part for part in (pupil.destination_urn, pupil.destination_name) if part
        )
        click.echo(f"joining   {destination or 'not known'}")
        found = session.scalars(
            select(Transfer)
            .where(Transfer.school_id == school_id, Transfer.pupil_id == pupil.id)
            .order_by(Transfer.id)
        ).all()
        for transfer in found:
            due = transfer.deadline.isoformat() if transfer.deadline else "-"
            click.echo(
                f"transfer  {transfer.transfer_uid} {transfer.direction} {transfer.state} "
                f"{transfer.partner.reference} due {due}"
            )
        if not found:
            click.echo(
                "transfer  none: `exchange transfers create --upn "
                f"{pupil.upn} --to URN --as EMAIL` starts one"
            )
        if user is not None:
            _audit(session, user, [pupil.id], "pupils show")
