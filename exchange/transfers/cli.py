"""`exchange transfers`: take a transfer through its steps from the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from exchange.cli_support import ACT_AS, actor_for, transfer_for, transfer_step
from exchange.db import transaction
from exchange.records.models import School
from exchange.transfers import progress
from exchange.transfers.cli_show import person_option
from exchange.transfers.models import Transfer

# The workflow, the redactor and the partner service load only for the steps that use them,
# so that `exchange transfers list` starts quickly.


@click.group()
def transfers() -> None:
    """Send and receive children's safeguarding files.

    The steps, in order (ID is the transfer id or its first 8 characters; each step taken as a
    person needs --as EMAIL and that person's current --code):

    \b
    Sending to a school on the service:
      1. create --upn UPN --to URN    (find the UPN with `exchange pupils list`)
      2. review ID                    (then `resolve` each flagged item)
      3. offer ID                     (the other school answers with `respond`)
      4. conversation ID              (the DSL-to-DSL conversation, after acceptance)
      5. authorise ID --confirm       (the service delivers; receipt and countersignature follow)
    Sending offline (no service at the other school):
      create, review, conversation, authorise, export ID, then confirm-receipt ID
      (or record-form ID --file SIGNED.pdf; a receiving DSL with an email on the
      destination is sent a download page where they confirm receipt themselves)
    Receiving:
      respond ID --accept --on-roll (or --reject --reason TEXT); the file then arrives by itself

    `exchange transfers show ID` prints the next step and what blocks it.
    """


@transfers.command("list")
@person_option
@click.pass_obj
def list_transfers(obj: dict[str, Any], act_as: str | None) -> None:
    """Print each transfer's id, state, schools and deadline (with --as, the child for DSLs)."""
    from exchange.records.pupils_cli import _audit, _viewer
    from exchange.transfers.cli_show import transfer_child_line

    with transaction(obj["session_factory"]) as session:
        user = _viewer(session, obj["school_id"], act_as)
        school = session.get(School, obj["school_id"])
        query = (
            select(Transfer).where(Transfer.school_id == school.id).order_by(Transfer.created_at)
        )
        rows = session.scalars(query).all()
        if not rows:
            click.echo("no transfers")
        for transfer in rows:
            sender, receiver = (
                (school.urn, transfer.partner.reference)
                if transfer.direction == "outgoing"
                else (transfer.partner.reference, school.urn)
            )
            deadline = transfer.deadline.isoformat() if transfer.deadline else "-"
            overdue = " OVERDUE" if progress.is_overdue(transfer, date.today()) else ""
            child = f"  {transfer_child_line(transfer, True)}" if user is not None else ""
            click.echo(
                f"{transfer.transfer_uid}  {transfer.state:<22} {sender} -> {receiver}  "
                f"due {deadline}{overdue}{child}"
            )
        if user is not None:
            seen = sorted({t.pupil_id for t in rows if t.pupil_id})
            _audit(session, user, seen, "transfers list")


@transfers.command("create")
@click.option("--upn", required=True, help="The leaving child's UPN.")
@click.option(
    "--to",
    "to_urn",
    required=True,
    help='Where the file goes: a URN, a destination ("scottish_school:5244439"), or "unknown".',
)
@click.option("--leaving-date", type=click.DateTime(["%Y-%m-%d"]))
@ACT_AS
@click.pass_obj
def create(obj: dict[str, Any], upn: str, to_urn: str, leaving_date: Any, act_as: str) -> None:
    """Start a draft transfer with the policy's selection of records."""
    from exchange.partners.destinations import find
    from exchange.records.models import Pupil
    from exchange.records.sealed_reads import upn_is
    from exchange.records.upn import validate_upn
    from exchange.transfers import workflow

    with transaction(obj["session_factory"]) as session:
        school = session.get(School, obj["school_id"])
        pupil = session.scalar(
            select(Pupil).where(
                Pupil.school_id == school.id, upn_is(session, school.id, validate_upn(upn))
            )
        )
        if pupil is None:
            raise click.UsageError("no pupil with that UPN at this school")
        transfer = workflow.start(
            session,
            obj["instance"],
            school,
            "create",
            actor_for(session, school.id, act_as),
            pupil=pupil,
            partner=find(session, school.id, to_urn),
            leaving_date=leaving_date.date() if leaving_date else None,
        )
        if transfer.partner.kind == "unknown":
            click.echo(
                "destination unknown: tell the local authority (children missing education), "
                "then `exchange transfers set-destination` when it is known"
            )
        included = sum(1 for item in transfer.items if item.included)
        click.echo(
            f"draft {transfer.transfer_uid}: {included} of {len(transfer.items)} records "
            "selected by policy"
        )


@transfers.command("review")
@click.argument("reference")
@click.option(
    "--in-worker",
    is_flag=True,
    help="Leave the documents to the worker and follow its progress (default: redact them here).",
)
@ACT_AS
@click.pass_obj
def review(obj: dict[str, Any], reference: str, act_as: str, in_worker: bool) -> None:
    """Redact what is selected (documents in a pool of processes) and list what needs review."""
    from exchange.transfers import vault_progress
    from exchange.transfers.redaction_step import reviews

    instance = obj["instance"]
    with vault_progress.progress_on_stderr() as progress:
        if in_worker:
            transfer_id = _act(obj, reference, act_as, "start_review", then=_id)
            if not vault_progress.follow(instance, transfer_id, progress):
                raise click.ClickException("the worker has not finished: try again later")
        else:
            transfer_id = _act(
                obj,
                reference,
                act_as,
                "start_review",
                then=_id,
                send=lambda ids: _send(instance, ids, progress=progress),
            )
    with obj["session_factory"]() as session:
        for item in reviews(session, session.get(Transfer, transfer_id)):
            status = "FLAGGED" if item.flagged else "clean"
            click.echo(f"review {item.id}: {item.kind} {item.object_id} {status}")


@transfers.command("redact-changes")
@click.argument("reference")
@ACT_AS
@click.pass_obj
def redact_changes(obj: dict[str, Any], reference: str, act_as: str) -> None:
    """Redact again the texts that changed in the records after the review; say which."""
    redone = _act(obj, reference, act_as, "redact_changes")
    for words, flagged in redone:
        click.echo(f"redacted again: {words}: {'FLAGGED, resolve it' if flagged else 'clean'}")


def _id(_session: Any, transfer: Transfer) -> int:
    return transfer.id


@transfers.command("offer")
@click.argument("reference")
@ACT_AS
@click.pass_obj
def offer(obj: dict[str, Any], reference: str, act_as: str) -> None:
    """Sign the offer and queue it for the receiving school."""
    _act(obj, reference, act_as, "offer")
    click.echo("offer signed and queued")


@transfers.command("respond")
@click.argument("reference")
@click.option("--accept/--reject", required=True)
@click.option("--reason", default="")
@click.option("--on-roll", is_flag=True, help="Confirm the child is, or will be, on your roll.")
@ACT_AS
@click.pass_obj
def respond(
    obj: dict[str, Any], reference: str, accept: bool, reason: str, on_roll: bool, act_as: str
) -> None:
    """Accept or reject an offer received from another school."""
    action = "accept" if accept else "reject"
    _act(obj, reference, act_as, action, reason=reason, on_roll_confirmed=on_roll)
    click.echo("answer signed and queued")


@transfers.command("conversation")
@click.argument("reference")
@click.option("--held-on", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--participants", required=True, help="Who took part, comma-separated.")
@click.option("--summary", required=True, help="A summary of the child's needs.")
@ACT_AS
@click.pass_obj
def conversation(
    obj: dict[str, Any], reference: str, held_on: Any, participants: str, summary: str, act_as: str
) -> None:
    """Record the DSL-to-DSL conversation (its summary travels, redacted)."""
    _act(
        obj,
        reference,
        act_as,
        "record_conversation",
        held_on=held_on.date(),
        participants=participants,
        summary=summary,
    )
    click.echo("conversation recorded")


@transfers.command("authorise")
@click.argument("reference")
@click.option(
    "--confirm", is_flag=True, required=True, help="Confirm you authorise this transfer now."
)
@ACT_AS
@click.pass_obj
def authorise(obj: dict[str, Any], reference: str, confirm: bool, act_as: str) -> None:
    """Authorise the transfer and queue its delivery (the code just checked counts as fresh)."""
    from exchange.cli_second_factor import second_factor_confirmed

    fresh = confirm and second_factor_confirmed()
    route = _act(obj, reference, act_as, "authorise", fresh_second_factor=fresh, then=_route)
    if route == "online":
        click.echo("authorised; delivery queued")
    else:
        click.echo("authorised; export the offline package next")


def _route(_session: Any, transfer: Transfer) -> str:
    return transfer.route


def _act(
    obj: dict[str, Any],
    reference: str,
    act_as: str,
    action: str,
    *,
    then: Any = None,
    send: Any = None,
    **inputs: Any,
) -> Any:
    """Take one workflow action as the named user; queue its effects once it has committed."""
    from exchange.outbox.service import written_in
    from exchange.transfers import workflow
    from exchange.transfers.next_step import what_comes_first
    from exchange.transfers.workflow_types import ActionRefused

    instance = obj["instance"]
    with transfer_step(obj, reference, act_as) as (session, transfer, actor):
        try:
            result = workflow.apply(session, instance, transfer, action, actor, **inputs)
        except ActionRefused as refused:
            if refused.status_code == 409:  # Not from this state: say what comes first.
                hint = what_comes_first(session, instance, transfer, actor)
                refused.message = f"{refused.message}; {hint}"
            raise
        if then is not None:
            result = then(session, transfer)
        pending = written_in(session)
    (send or (lambda ids: _send(instance, ids)))(pending)
    return result


def _send(instance: Any, ids: list[int], *, progress: Any = None) -> None:
    """Queue the tasks of committed outbox rows (the beat's sweep sends any this misses).

    With `progress`, the vault redaction runs here instead, reporting to it.
    """
    if not ids:
        return
    from exchange.outbox.service import celery_sender, dispatch
    from exchange.tasks.celery_app import make_celery

    app = make_celery(instance.config)
    try:
        sender = celery_sender(app)
        if progress is not None:
            from exchange.transfers.vault_progress import here

            sender = here(instance, sender, progress)
        dispatch(instance.sessions, sender, ids)
    finally:
        app.close()


@transfers.command("export")
@click.argument("reference")
@ACT_AS
@click.pass_obj
def export(obj: dict[str, Any], reference: str, act_as: str) -> None:
    """Write the AES-256 zip of an authorised offline transfer; show its passphrase once."""
    package = _act(obj, reference, act_as, "export")
    click.echo(f"zip written to {package.path} ({package.file_count} files)")
    click.echo("The transfer form inside is signed with the key of fingerprint (read it out too):")
    click.echo(f"  {package.key_fingerprint}")
    click.echo("Read this passphrase to the receiving DSL by phone. It is shown only now:")
    click.echo(f"  {package.passphrase}")


@transfers.command("confirm-receipt")
@click.argument("reference")
@click.option("--receipt-code", required=True, help="The receipt code the receiving DSL read back.")
@click.option("--confirmed-by", required=True, help="Who confirmed: name and school.")
@ACT_AS
@click.pass_obj
def confirm_receipt(
    obj: dict[str, Any], reference: str, receipt_code: str, confirmed_by: str, act_as: str
) -> None:
    """Record the receiving school's receipt code for an offline transfer, and sign it."""
    _act(
        obj,
        reference,
        act_as,
        "confirm_receipt_code",
        code=receipt_code,
        confirmed_by=confirmed_by,
    )
    click.echo("receipt recorded and signed; the transfer is closed")


@transfers.command("record-form")
@click.argument("reference")
@click.option(
    "--file",
    "form_file",
    required=True,
    type=click.File("rb"),
    help="The transfer form the receiving DSL signed and sent back (PDF, PNG or JPEG).",
)
@click.option("--confirmed-by", required=True, help="Who signed it: name and school.")
@ACT_AS
@click.pass_obj
def record_form(
    obj: dict[str, Any], reference: str, form_file: Any, confirmed_by: str, act_as: str
) -> None:
    """Keep the signed transfer form of an offline transfer as its receipt, and sign a record."""
    from exchange.transfers.offline_route import MAX_FORM_BYTES

    form = form_file.read(MAX_FORM_BYTES + 1)
    _act(obj, reference, act_as, "record_signed_form", form=form, confirmed_by=confirmed_by)
    click.echo("signed form kept and receipt signed; the transfer is closed")


@transfers.command("destination-add")
@click.argument(
    "kind",
    type=click.Choice(
        [
            "english_school",
            "welsh_school",
            "scottish_school",
            "northern_irish_school",
            "independent_school",
            "school_abroad",
            "local_authority",
        ]
    ),
)
@click.option(
    "--identifier", help="URN, LA+establishment number, SEED code, DE reference or LA code."
)
@click.option("--laestab", help="An English school's LAESTAB, if known.")
@click.option("--name", required=True, help="The school's or local authority's name.")
@click.option("--contact-name", required=True, help="The receiving DSL or the LA's named officer.")
@click.option("--contact-email", required=True)
@click.option("--contact-phone", help="For reading the passphrase out.")
@click.option("--country", help="A school abroad: its country.")
@click.option("--address", help="An independent school or a school abroad: its address.")
@click.option("--purpose", type=click.Choice(["missing_education", "elective_home_education"]))
@ACT_AS
@click.pass_obj
def destination_add(obj: dict[str, Any], kind: str, act_as: str, **fields: Any) -> None:
    """Add a destination that does not run this service (the offline route goes there)."""
    from exchange.audit.service import record_event
    from exchange.auth.permissions import require
    from exchange.partners import destinations

    with transaction(obj["session_factory"]) as session:
        actor = actor_for(session, obj["school_id"], act_as)
        require(actor.role, "transfer.create")
        partner = destinations.keep(
            session, obj["school_id"], destinations.validate(kind, **fields)
        )
        record_event(
            session,
            obj["school_id"],
            actor.user_id,
            actor.role,
            "destination.added",
            "partner",
            str(partner.id),
            None,
            {"kind": partner.kind},
        )
        click.echo(f"{partner.reference}  {destinations.describe(partner)}")


@transfers.command("set-destination")
@click.argument("reference")
@click.option("--to", "to_reference", required=True, help="A URN or destination reference.")
@ACT_AS
@click.pass_obj
def set_destination(obj: dict[str, Any], reference: str, to_reference: str, act_as: str) -> None:
    """Set where a draft goes, once an unknown destination is known (or to correct it)."""
    from exchange.partners.destinations import describe, find

    with transfer_step(obj, reference, act_as) as (session, transfer, actor):
        partner = find(session, transfer.school_id, to_reference)
        from exchange.transfers import workflow

        workflow.apply(
            session, obj["instance"], transfer, "set_destination", actor, partner=partner
        )
        click.echo(f"the transfer now goes to {describe(partner)} ({transfer.route} route)")


@transfers.command("create-from-ctf")
@click.argument("ctf_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--leaving-date", type=click.DateTime(["%Y-%m-%d"]))
@click.option(
    "--to",
    "to_reference",
    help="Where the files go when the CTF names no destination (a URN, a destination, unknown).",
)
@ACT_AS
@click.pass_obj
def create_from_ctf(
    obj: dict[str, Any], ctf_file: Path, leaving_date: Any, to_reference: str | None, act_as: str
) -> None:
    """Start a draft transfer for each pupil in a Common Transfer File."""
    from exchange.partners.destinations import UNKNOWN, describe, find
    from exchange.transfers.from_ctf import transfers_from_ctf

    with transaction(obj["session_factory"]) as session:
        school = session.get(School, obj["school_id"])
        made = transfers_from_ctf(
            session,
            school,
            actor_for(session, school.id, act_as),
            ctf_file,
            leaving_date=leaving_date.date() if leaving_date else None,
            destination=find(session, school.id, to_reference) if to_reference else None,
        )
        for transfer in made:
            click.echo(f"draft {transfer.transfer_uid} to {describe(transfer.partner)}")
        if any(transfer.partner.kind == UNKNOWN for transfer in made):
            click.echo(
                "The CTF names no destination. Tell the local authority (children missing "
                "education), then, for each draft, `exchange transfers set-destination ID --to` "
                "one of: a partner school's URN; a destination added with "
                "`exchange transfers destination-add` (a school in England without the service, "
                "Wales, Scotland, Northern Ireland, an independent school, a school abroad, or "
                "the local authority)."
            )


@transfers.command("item")
@click.argument("reference")
@click.option("--incident", "incident_id", type=int, help="Incident id to add or drop.")
@click.option("--document", "document_id", type=int, help="Document id to add or drop.")
@click.option("--include/--drop", required=True)
@click.option("--reason", default="", help="Why (required when departing from the policy).")
@ACT_AS
@click.pass_obj
def item(
    obj: dict[str, Any],
    reference: str,
    incident_id: int | None,
    document_id: int | None,
    include: bool,
    reason: str,
    act_as: str,
) -> None:
    """Add or drop one record of a draft transfer, with a reason."""
    if (incident_id is None) == (document_id is None):
        raise click.UsageError("give exactly one of --incident or --document")
    kind, object_id = (
        ("incident", incident_id) if incident_id is not None else ("document", document_id)
    )
    _act(
        obj,
        reference,
        act_as,
        "select_item",
        kind=kind,
        object_id=object_id,
        included=include,
        reason=reason,
    )
    click.echo(f"{kind} {object_id} {'included' if include else 'dropped'}")


@transfers.command("resolve")
@click.argument("reference")
@click.argument("review_id", type=int)
@click.option(
    "--resolution", type=click.Choice(["confirmed", "excluded", "replaced"]), required=True
)
@click.option("--note", required=True, help="What was checked, or why.")
@click.option("--replacement", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ACT_AS
@click.pass_obj
def resolve(
    obj: dict[str, Any],
    reference: str,
    review_id: int,
    resolution: str,
    note: str,
    replacement: Path | None,
    act_as: str,
) -> None:
    """Resolve a redaction flag: confirm a manual check, exclude the document, or replace it."""
    _act(
        obj,
        reference,
        act_as,
        "resolve_flag",
        review_id=review_id,
        resolution=resolution,
        note=note,
        replacement=replacement.read_bytes() if replacement else None,
    )
    click.echo(f"review {review_id} {resolution}")


@transfers.command("settings")
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE", help="Change a setting.")
@click.pass_obj
def settings(obj: dict[str, Any], pairs: tuple[str, ...]) -> None:
    """Show or change this school's transfer settings (deadline, conversation, deputies...)."""
    import json

    from exchange.transfers.settings import DEFAULTS, school_setting, update_settings

    with transaction(obj["session_factory"]) as session:
        school = session.get(School, obj["school_id"])
        changes = {}
        for pair in pairs:
            key, _, value = pair.partition("=")
            try:
                changes[key] = json.loads(value)
            except ValueError:
                changes[key] = value
        if changes:
            update_settings(school, **changes)
        for key in DEFAULTS:
            click.echo(f"{key} = {json.dumps(school_setting(school, key))}")


@transfers.command("withdraw")
@click.argument("reference")
@click.option("--reason", required=True, help="Why the transfer is withdrawn (kept with it).")
@ACT_AS
@click.pass_obj
def withdraw(obj: dict[str, Any], reference: str, reason: str, act_as: str) -> None:
    """Withdraw a transfer that has not been delivered, with a reason."""
    _act(obj, reference, act_as, "withdraw", reason=reason)
    click.echo("transfer withdrawn")


@transfers.command("recall")
@click.argument("reference")
@click.option("--reason", required=True, help="Why the file is recalled (sent to the partner).")
@click.option("--confirm", is_flag=True, required=True, help="Confirm you recall this file now.")
@ACT_AS
@click.pass_obj
def recall(obj: dict[str, Any], reference: str, reason: str, confirm: bool, act_as: str) -> None:
    """Recall a delivered file: the receiving school is asked to destroy its copy (signed)."""
    from exchange.cli_second_factor import second_factor_confirmed

    fresh = confirm and second_factor_confirmed()
    _act(obj, reference, act_as, "recall", reason=reason, fresh_second_factor=fresh)
    click.echo("recall sent; the receiving DSL is asked to confirm the destruction")


@transfers.command("confirm-destruction")
@click.argument("reference")
@click.option("--note", default="", help="What was done (kept with the transfer).")
@click.option(
    "--confirm", is_flag=True, required=True, help="Confirm the recalled file is destroyed here."
)
@ACT_AS
@click.pass_obj
def confirm_destruction(
    obj: dict[str, Any], reference: str, note: str, confirm: bool, act_as: str
) -> None:
    """Destroy a file its sender recalled and send the signed destruction notice."""
    from exchange.cli_second_factor import second_factor_confirmed

    fresh = confirm and second_factor_confirmed()
    _act(obj, reference, act_as, "confirm_destruction", note=note, fresh_second_factor=fresh)
    click.echo("recalled file destroyed; the sending school is told")


@transfers.command("reoffer")
@click.argument("reference")
@click.option(
    "--reason", required=True, help="Your answer to the rejection (sent with the new offer)."
)
@ACT_AS
@click.pass_obj
def reoffer(obj: dict[str, Any], reference: str, reason: str, act_as: str) -> None:
    """Start a new draft that offers a rejected or expired transfer again."""
    from exchange.outbox.service import written_in
    from exchange.transfers import workflow

    with transfer_step(obj, reference, act_as) as (session, previous, actor):
        school = session.get(School, previous.school_id)
        new = workflow.start(
            session, obj["instance"], school, "reoffer", actor, previous=previous, reason=reason
        )
        uid = new.transfer_uid
        pending = written_in(session)
    _send(obj["instance"], pending)
    click.echo(f"new draft {uid}: review it and offer it again")


@transfers.command("retry")
@click.argument("reference")
@click.option("--confirm", is_flag=True, required=True, help="Confirm the cause is fixed.")
@ACT_AS
@click.pass_obj
def retry(obj: dict[str, Any], reference: str, confirm: bool, act_as: str) -> None:
    """Send a failed delivery again (authorised as the first time: same roles, same checks)."""
    from exchange.cli_second_factor import second_factor_confirmed

    fresh = confirm and second_factor_confirmed()
    _act(obj, reference, act_as, "retry", fresh_second_factor=fresh)
    click.echo("delivery queued again")


@transfers.command("resume")
@click.argument("reference")
@click.pass_obj
def resume(obj: dict[str, Any], reference: str) -> None:
    """Queue again the unfinished tasks of a stuck transfer (after a worker was killed)."""
    from sqlalchemy import update

    from exchange.outbox.models import OutboxMessage

    with transaction(obj["session_factory"]) as session:
        transfer = transfer_for(session, obj["school_id"], reference)
        ids = list(
            session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.transfer_id == transfer.id, OutboxMessage.ran_at.is_(None)
                )
            )
        )
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(dispatched_at=None)
        )
    if not ids:
        raise click.UsageError("this transfer has no unfinished task to resume")
    _send(obj["instance"], ids)
    click.echo(f"{len(ids)} task(s) queued again")


# `show` lives in its own module; it is part of this group.
from exchange.transfers.cli_show import show  # noqa: E402

transfers.add_command(show)
