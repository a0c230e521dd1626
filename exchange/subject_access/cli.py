"""`exchange subject-access`: handle a subject access request from the command line.

Every step names the person taking it (`--as EMAIL`) and is taken only after their current
authenticator code checks, as on the web; approving counts that code as the fresh second factor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.cli_second_factor import second_factor_confirmed
from exchange.cli_support import ACT_AS, actor_for
from exchange.db import transaction
from exchange.records.models import School
from exchange.subject_access.models import SubjectAccessRequest
from exchange.transfers.actors import Actor

DAY = click.DateTime(["%Y-%m-%d"])


@click.group("subject-access")
def subject_access() -> None:
    """Subject access requests: log, prepare, approve, send and close them."""


def request_for(session: Session, school_id: int, reference: str) -> SubjectAccessRequest:
    """Return this school's request by a unique prefix (8 characters or more) of its id."""
    reference = reference.strip().lower()
    if len(reference) < 8:
        raise click.UsageError("give at least the first 8 characters of the request id")
    matches = session.scalars(
        select(SubjectAccessRequest).where(
            SubjectAccessRequest.school_id == school_id,
            SubjectAccessRequest.request_uid.startswith(reference),
        )
    ).all()
    if len(matches) != 1:
        raise click.UsageError(f"{len(matches)} requests of this school match {reference!r}")
    return matches[0]


@contextmanager
def step(
    obj: dict[str, Any], reference: str, act_as: str
) -> Iterator[tuple[Session, SubjectAccessRequest, Actor]]:
    """Open one transaction with this school's request and the person taking the step."""
    with transaction(obj["session_factory"]) as session:
        school_id = obj["school_id"]
        yield (
            session,
            request_for(session, school_id, reference),
            actor_for(session, school_id, act_as),
        )


def _day(value: Any) -> date | None:
    return value.date() if value is not None else None


@subject_access.command("list")
@click.option("--overdue", is_flag=True, help="Only requests past their due date.")
@click.pass_obj
def list_requests(obj: dict[str, Any], overdue: bool) -> None:
    """Print the register: id, state, received, due, days left (no names)."""
    from exchange.subject_access.register import register

    with obj["session_factory"]() as session:
        rows = register(session, obj["school_id"], date.today())
    shown = [row for row in rows if row.overdue or not overdue]
    if not shown:
        click.echo("no requests")
    for row in shown:
        r = row.request
        left = "" if row.days_left is None else f"  {row.days_left} days left"
        flag = "  OVERDUE" if row.overdue else ""
        click.echo(
            f"{r.request_uid}  {r.state:<18} received {r.received_on}  due {r.due_on}{left}{flag}"
        )


@subject_access.command("log")
@click.option("--upn", required=True, help="The child's UPN.")
@click.option("--requester", required=True, help="Who made the request.")
@click.option(
    "--relationship",
    required=True,
    type=click.Choice(["self", "parent", "carer", "representative"]),
)
@click.option("--received", required=True, type=DAY, help="The day the request was received.")
@click.option("--identity-check", default="", help="How the requester's identity was checked.")
@click.option("--authority-check", default="", help="How parental responsibility was checked.")
@click.option("--linked/--not-linked", default=False, help="The requester may act for the child.")
@click.option("--contact", default="", help="Where the response goes.")
@click.option("--from", "scope_from", type=DAY, help="Only records from this day.")
@click.option("--to", "scope_to", type=DAY, help="Only records up to this day.")
@click.option("--category", "categories", multiple=True, help="Only these categories.")
@ACT_AS
@click.pass_obj
def log(obj: dict[str, Any], upn: str, requester: str, relationship: str, received: Any,
        identity_check: str, authority_check: str, linked: bool, contact: str, scope_from: Any,
        scope_to: Any, categories: tuple[str, ...], act_as: str) -> None:  # fmt: skip
    """Log a request and start its one-month clock."""
    from exchange.records.models import Pupil
    from exchange.records.sealed_reads import upn_is
    from exchange.records.upn import validate_upn
    from exchange.subject_access.service import log_request

    with transaction(obj["session_factory"]) as session:
        school = session.get(School, obj["school_id"])
        pupil = session.scalar(
            select(Pupil).where(
                Pupil.school_id == school.id, upn_is(session, school.id, validate_upn(upn))
            )
        )
        if pupil is None:
            raise click.UsageError("no pupil with that UPN at this school")
        request = log_request(
            session,
            school,
            actor_for(session, school.id, act_as),
            pupil,
            requester_name=requester,
            relationship=relationship,
            received_on=received.date(),
            identity_check=identity_check,
            authority_check=authority_check,
            linked_to_child=linked,
            contact=contact,
            scope_from=_day(scope_from),
            scope_to=_day(scope_to),
            categories=list(categories),
        )
        if request.state == "refused":
            click.echo(f"request {request.request_uid} refused: {request.refusal_reason}")
            return
        click.echo(
            f"request {request.request_uid}: due {request.due_on}; "
            f"{sum(i.included for i in request.items)} of {len(request.items)} records in scope"
        )


@subject_access.command("show")
@click.argument("reference")
@ACT_AS
@click.pass_obj
def show(obj: dict[str, Any], reference: str, act_as: str) -> None:
    """Print a request's clock, items, flags and exemptions (the view is audited)."""
    from exchange.subject_access.service import problems
    from exchange.subject_access.steps import audit_view

    with step(obj, reference, act_as) as (session, request, actor):
        audit_view(session, request, actor, "cli")
        click.echo(f"request {request.request_uid}  {request.state}")
        click.echo(f"received {request.received_on}  due {request.due_on}")
        for item in request.items:
            status = "included" if item.included else "left out"
            flag = ""
            if item.flagged:
                flag = f"  FLAGGED ({item.resolution or 'not reviewed'})"
            click.echo(
                f"item {item.id}: {item.kind} {item.object_id} {item.category} {status}{flag}"
            )
        for row in request.exemptions:
            click.echo(f"exemption {row.id}: item {row.item_id} {row.exemption}")
        for problem in problems(request):
            click.echo(f"to do: {problem}")


@subject_access.command("checks")
@click.argument("reference")
@click.option("--identity-check", required=True)
@click.option("--authority-check", default="")
@click.option("--linked/--not-linked", default=None)
@ACT_AS
@click.pass_obj
def checks(obj: dict[str, Any], reference: str, identity_check: str, authority_check: str,
           linked: bool | None, act_as: str) -> None:  # fmt: skip
    """Record how the requester's identity and authority were checked."""
    from exchange.subject_access.service import record_checks

    with step(obj, reference, act_as) as (session, request, actor):
        record_checks(
            session,
            request,
            actor,
            identity_check=identity_check,
            authority_check=authority_check,
            linked_to_child=linked,
        )
    click.echo("checks recorded")


@subject_access.command("child-views")
@click.argument("reference")
@click.option("--consulted/--not-consulted", required=True)
@click.option("--views", required=True, help="What the child said, or why they were not asked.")
@ACT_AS
@click.pass_obj
def child_views(obj: dict[str, Any], reference: str, consulted: bool, views: str,
                act_as: str) -> None:  # fmt: skip
    """Record whether the child was consulted, and what they said."""
    from exchange.subject_access.service import record_child_views

    with step(obj, reference, act_as) as (session, request, actor):
        record_child_views(session, request, actor, consulted=consulted, views=views)
    click.echo("child's views recorded")


@subject_access.command("extend")
@click.argument("reference")
@click.option("--months", required=True, type=click.IntRange(1, 2))
@click.option("--reason", required=True)
@click.option("--told-on", required=True, type=DAY, help="When the requester was told.")
@ACT_AS
@click.pass_obj
def extend_command(obj: dict[str, Any], reference: str, months: int, reason: str, told_on: Any,
                   act_as: str) -> None:  # fmt: skip
    """Extend a complex request by one or two further months."""
    from exchange.subject_access.service import extend

    with step(obj, reference, act_as) as (session, request, actor):
        extend(session, request, actor, months=months, reason=reason, told_on=told_on.date())
        click.echo(f"now due {request.due_on}")


@subject_access.command("item")
@click.argument("reference")
@click.argument("item_id", type=int)
@click.option("--include/--leave-out", required=True)
@click.option("--reason", default="")
@ACT_AS
@click.pass_obj
def item(obj: dict[str, Any], reference: str, item_id: int, include: bool, reason: str,
         act_as: str) -> None:  # fmt: skip
    """Include or leave out one record (a reason when it departs from the request)."""
    from exchange.subject_access.service import select_item

    with step(obj, reference, act_as) as (session, request, actor):
        select_item(session, request, actor, item_id, included=include, reason=reason)
    click.echo("item changed: redact again")


@subject_access.command("remove-person")
@click.argument("reference")
@click.option("--name", default="", help="An adult who is a third party (not acting in a role).")
@click.option("--staff-id", type=int, help="A member of staff to remove, with --reason.")
@click.option("--reason", default="")
@ACT_AS
@click.pass_obj
def remove_person(obj: dict[str, Any], reference: str, name: str, staff_id: int | None,
                  reason: str, act_as: str) -> None:  # fmt: skip
    """Remove a third party, or a member of staff for a stated reason, from the response."""
    from exchange.subject_access.service import add_person

    with step(obj, reference, act_as) as (session, request, actor):
        person = add_person(session, request, actor, name=name, staff_id=staff_id, reason=reason)
        click.echo(f"person {person.id} will be removed: redact again")


@subject_access.command("redact")
@click.argument("reference")
@ACT_AS
@click.pass_obj
def redact_command(obj: dict[str, Any], reference: str, act_as: str) -> None:
    """Redact every included record for this requester and list the flags."""
    from exchange.subject_access.service import redact

    with step(obj, reference, act_as) as (session, request, actor):
        flagged = redact(session, obj["instance"], request, actor)
        for found in flagged:
            click.echo(f"item {found.id}: {found.kind} FLAGGED")
        click.echo(f"redacted; {len(flagged)} flag(s) to review")


@subject_access.command("review")
@click.argument("reference")
@click.argument("item_id", type=int)
@click.option("--resolution", required=True, type=click.Choice(["confirmed", "kept", "excluded"]))
@click.option("--note", required=True, help="What was checked, or why.")
@ACT_AS
@click.pass_obj
def review_command(obj: dict[str, Any], reference: str, item_id: int, resolution: str, note: str,
                   act_as: str) -> None:  # fmt: skip
    """Decide one redaction flag: remove the doubtful names, keep them, or leave the item out."""
    from exchange.subject_access.service import review

    with step(obj, reference, act_as) as (session, request, actor):
        review(session, request, actor, item_id, resolution=resolution, note=note)
    click.echo("decision recorded")


@subject_access.command("withhold")
@click.argument("reference")
@click.argument("item_id", type=int)
@click.option("--exemption", required=True)
@click.option("--reason", required=True, help="Why it applies (kept for the DPO, not sent).")
@click.option("--consulted", default="", help="Who was consulted, where the exemption needs it.")
@click.option("--passage", default="", help="Only this passage of the record's text.")
@ACT_AS
@click.pass_obj
def withhold_command(obj: dict[str, Any], reference: str, item_id: int, exemption: str,
                     reason: str, consulted: str, passage: str, act_as: str) -> None:  # fmt: skip
    """Withhold a record or a passage under a named exemption."""
    from exchange.subject_access.service import withhold

    with step(obj, reference, act_as) as (session, request, actor):
        row = withhold(
            session,
            request,
            actor,
            item_id,
            exemption=exemption,
            reason=reason,
            consulted=consulted,
            passage=passage,
        )
        click.echo(f"exemption {row.id} recorded")


@subject_access.command("submit")
@click.argument("reference")
@ACT_AS
@click.pass_obj
def submit_command(obj: dict[str, Any], reference: str, act_as: str) -> None:
    """Send the prepared response for a second person's approval."""
    from exchange.subject_access.service import submit

    with step(obj, reference, act_as) as (session, request, actor):
        submit(session, request, actor)
    click.echo("sent for approval")


@subject_access.command("approve")
@click.argument("reference")
@ACT_AS
@click.pass_obj
def approve_command(obj: dict[str, Any], reference: str, act_as: str) -> None:
    """Approve the response as the second person (the code given is the fresh second factor)."""
    from exchange.subject_access.service import approve

    with step(obj, reference, act_as) as (session, request, actor):
        approve(
            session,
            obj["instance"],
            request,
            actor,
            fresh_second_factor=second_factor_confirmed(actor.user_id),
        )
        click.echo(f"approved; response SHA-256 {request.response_sha256}")


@subject_access.command("send")
@click.argument("reference")
@click.option("--zip", "method", flag_value="zip", help="An AES-256 zip; passphrase printed last.")
@click.option("--print", "method", flag_value="print", help="Write the PDF to print to --output.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path))
@ACT_AS
@click.pass_obj
def send_command(obj: dict[str, Any], reference: str, method: str | None, output: Path | None,
                 act_as: str) -> None:  # fmt: skip
    """Send the approved response as an encrypted zip, or write it out to print."""
    from exchange.subject_access.service import response_bytes, send

    if method is None:
        raise click.UsageError("choose --zip or --print")
    if method == "print" and output is None:
        raise click.UsageError("--print needs --output FILE.pdf")
    with step(obj, reference, act_as) as (session, request, actor):
        package = send(session, obj["instance"], request, actor, method=method)
        if method == "print":
            assert output is not None
            output.write_bytes(response_bytes(session, obj["instance"], request))
            output.chmod(0o600)
    if package is None:
        click.echo(f"response written to {output}: print it and send it")
        return
    click.echo(f"zip written to {package.path}")
    click.echo("give the requester this passphrase by another channel (shown once):")
    click.echo(package.passphrase)


@subject_access.command("acknowledge")
@click.argument("reference")
@click.option("--receipt-code", required=True, help="The receipt code read back.")
@click.option("--confirmed-by", required=True, help="Who read it back, and how.")
@ACT_AS
@click.pass_obj
def acknowledge_command(obj: dict[str, Any], reference: str, receipt_code: str,
                        confirmed_by: str, act_as: str) -> None:  # fmt: skip
    """Close the request with the requester's receipt code."""
    from exchange.subject_access.service import acknowledge

    with step(obj, reference, act_as) as (session, request, actor):
        acknowledge(
            session, obj["instance"], request, actor, code=receipt_code, confirmed_by=confirmed_by
        )
        click.echo(f"closed; kept until {request.retain_until}")


@subject_access.command("refuse")
@click.argument("reference")
@click.option("--reason", required=True)
@ACT_AS
@click.pass_obj
def refuse_command(obj: dict[str, Any], reference: str, reason: str, act_as: str) -> None:
    """Refuse a request, with the reason the requester is told."""
    from exchange.subject_access.service import refuse

    with step(obj, reference, act_as) as (session, request, actor):
        refuse(session, request, actor, reason)
    click.echo("refused")


@subject_access.command("export")
@click.argument("reference")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@ACT_AS
@click.pass_obj
def export_command(obj: dict[str, Any], reference: str, output: Path, act_as: str) -> None:
    """Write the full handling record of a request as JSON (the DPO)."""
    from exchange.auth.permissions import require
    from exchange.subject_access.export import handling_record
    from exchange.subject_access.steps import audit_view

    with step(obj, reference, act_as) as (session, request, actor):
        require(actor.role, "sar.export")
        audit_view(session, request, actor, "export")
        record = handling_record(session, request)
    output.write_text(json.dumps(record, indent=2, ensure_ascii=False))
    output.chmod(0o600)
    click.echo(f"handling record written to {output}")


@subject_access.command("remind")
@click.pass_obj
def remind_command(obj: dict[str, Any]) -> None:
    """Record today's reminders for requests nearly due or overdue; print their ids."""
    from exchange.subject_access.register import remind

    with transaction(obj["session_factory"]) as session:
        reminded = remind(session, session.get(School, obj["school_id"]), date.today())
        for request in reminded:
            click.echo(f"reminder: {request.request_uid} due {request.due_on}")
    if not reminded:
        click.echo("no reminders today")


@subject_access.command("purge")
@ACT_AS
@click.pass_obj
def purge_command(obj: dict[str, Any], act_as: str) -> None:
    """Destroy the requests whose retention has ended (the DPO)."""
    from exchange.subject_access.register import purge_expired

    with transaction(obj["session_factory"]) as session:
        actor = actor_for(session, obj["school_id"], act_as)
        count = purge_expired(session, obj["instance"], obj["school_id"], date.today(), actor)
    click.echo(f"{count} request(s) destroyed")
