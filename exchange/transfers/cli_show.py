"""`exchange transfers show ID`: the child, the state, the next step and what blocks it."""

from __future__ import annotations

from typing import Any

import click

from exchange.auth.permissions import DSL, can
from exchange.cli_second_factor import with_second_factor
from exchange.cli_support import transfer_for, user_by_email
from exchange.transfers.offered_name import words

# The `exchange transfers` command that takes each action (web-only actions are named so).
COMMANDS = {
    "start_review": "review",
    "offer": "offer",
    "accept": "respond --accept --on-roll",
    "reject": "respond --reject --reason TEXT",
    "record_conversation": "conversation --held-on DATE --participants TEXT --summary TEXT",
    "authorise": "authorise --confirm",
    "export": "export",
    "confirm_receipt_code": "confirm-receipt",
    "retry": "retry",
    "confirm_destruction": "confirm-destruction",
    "select_item": "item",
    "resolve_flag": "resolve",
    "redact_changes": "redact-changes",
    "withdraw": "withdraw --reason TEXT",
    "recall": "recall --reason TEXT",
    "set_destination": "set-destination",
}
AS_HELP = (
    "Email of the DSL or deputy asking: the child's name and date of birth are shown, and the "
    "next step is checked for them (their current code is needed). Without it: the UPN only, "
    "and the steps as a DSL would meet them."
)


def person_option(command: Any) -> Any:
    """Add an optional --as EMAIL (with --code): names are shown only to a DSL or deputy."""
    checked = with_second_factor("act_as", user_by_email)(command)
    return click.option("--as", "act_as", default=None, help=AS_HELP)(checked)


def child_line(pupil: Any, upn: str, names: bool) -> str:
    """Return the child as the asker may see them: the UPN, and for DSLs name and birth date."""
    if not names or pupil is None:
        return f"UPN {upn}"
    born = pupil.date_of_birth.isoformat() if pupil.date_of_birth else "date of birth unknown"
    return f"{pupil.forename} {pupil.surname}, born {born}, UPN {upn}"


def transfer_child_line(transfer: Any, names: bool) -> str:
    """Return a transfer's child for the asker: before a record exists, as the offer names them."""
    if names and transfer.pupil is None and transfer.offered_name:
        born = transfer.pupil_dob.isoformat() if transfer.pupil_dob else "date of birth unknown"
        offered = words(transfer.offered_name)
        return f"{offered} (as the offer names them), born {born}, UPN {transfer.pupil_upn}"
    return child_line(transfer.pupil, transfer.pupil_upn, names)


def _command(action: str, reference: str) -> str:
    if action not in COMMANDS:
        return "on the web pages (no command)"
    verb, _, options = COMMANDS[action].partition(" ")
    return f"exchange transfers {verb} {reference} {options} --as EMAIL".replace("  ", " ")


@click.command("show")
@click.argument("reference")
@person_option
@click.pass_obj
def show(obj: dict[str, Any], reference: str, act_as: str | None) -> None:
    """Print a transfer's child, state, next step and what blocks it."""
    from exchange.audit.service import record_event
    from exchange.db import transaction
    from exchange.transfers.actors import Actor
    from exchange.transfers.next_step import STEPS_IN_ORDER, outlook
    from exchange.transfers.states import WORDS

    with transaction(obj["session_factory"]) as session:
        school_id = obj["school_id"]
        transfer = transfer_for(session, school_id, reference)
        user = user_by_email(session, school_id, act_as) if act_as else None
        actor = (
            Actor.of(user, request_id="cli")
            if user
            else Actor(role=DSL, name="a DSL", school_id=school_id)
        )
        names = user is not None and can(user.role, "view_children")
        other = "to" if transfer.direction == "outgoing" else "from"
        click.echo(f"transfer  {transfer.transfer_uid} ({transfer.direction})")
        click.echo(f"{other:<9} {transfer.partner.name} ({transfer.partner.reference})")
        click.echo(f"child     {transfer_child_line(transfer, names)}")
        click.echo(f"state     {transfer.state}: {WORDS.get(transfer.state, transfer.state)}")
        if transfer.deadline:
            click.echo(f"deadline  {transfer.deadline.isoformat()}")
        seen = outlook(session, obj["instance"], transfer, actor)
        if seen.step is not None:
            click.echo(f"next step {seen.step.summary}")
            click.echo(f"command   {_command(seen.step.name, transfer.transfer_uid[:8])}")
            click.echo(f"blocked   {seen.blocked_by}" if seen.blocked_by else "ready     yes")
        elif seen.waiting_for:
            waits = "; or ".join(a.summary for a in seen.waiting_for)
            click.echo(f"waiting   for the service or the other school: {waits}")
        else:
            click.echo("next step none: nothing more is needed")
        for action, refused in seen.others:
            status = f"blocked: {refused}" if refused else "possible"
            click.echo(f"also      {action.summary} ({status})")
        click.echo(f"order     {STEPS_IN_ORDER}")
        if names and transfer.pupil_id is not None:
            record_event(
                session,
                school_id,
                user.id,
                user.role,
                "record.viewed",
                "pupil",
                str(transfer.pupil_id),
                "cli",
                {"via": "cli", "page": "transfers show"},
            )
