"""`exchange batches`: start, offer and authorise many leavers' transfers at once.

The order for a September batch: `create` (from a CTF or UPNs: drafts, redaction, offers),
then `offer` for the children whose documents were still being redacted, then each receiving
school answers, then `transfers conversation` for the children who need one, then
`authorise`, which sends every child whose steps are met and lists the others.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from exchange.cli_support import ACT_AS, actor_for
from exchange.db import transaction
from exchange.records.models import Pupil, School
from exchange.transfers.models import OUTGOING, TransferBatch

POLL_SECONDS = 0.5
RUN_WORDS = {
    "waiting": "waiting for the worker to begin",
    "running": "being made",
    "stalled": "no progress for a while: `exchange batches retry` starts it again",
    "stopped": "stopped: `exchange batches retry` starts it again",
    "finished": "made",
}


@click.group()
def batches() -> None:
    """Transfers of many leavers at once (September): create, offer, authorise."""


def _send(instance: Any, ids: list[int]) -> None:
    """Queue the tasks of committed outbox rows (the beat's sweep sends any this misses)."""
    if not ids:
        return
    from exchange.outbox.service import celery_sender, dispatch
    from exchange.tasks.celery_app import make_celery

    app = make_celery(instance.config)
    try:
        dispatch(instance.sessions, celery_sender(app), ids)
    finally:
        app.close()


def _batch(session: Any, school_id: int, reference: str) -> TransferBatch:
    reference = reference.strip().lower()
    if len(reference) < 8:
        raise click.UsageError("give at least the first 8 characters of the batch id")
    matches = session.scalars(
        select(TransferBatch).where(
            TransferBatch.school_id == school_id,
            TransferBatch.direction == OUTGOING,
            TransferBatch.batch_uid.startswith(reference),
        )
    ).all()
    if len(matches) != 1:
        raise click.UsageError(f"{len(matches)} batches of this school match {reference!r}")
    return matches[0]


@batches.command("create")
@click.option("--ctf", "ctf_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--upn", "upns", multiple=True, help="A leaver's UPN (repeat for each child).")
@click.option(
    "--to", "to_reference", help="One destination for all (a URN); else each child's own."
)
@click.option(
    "--offer/--draft-only", default=True, help="Offer each file once its review is ready."
)
@click.option(
    "--in-worker", is_flag=True, help="Let the Celery worker make them; follow its progress."
)
@ACT_AS
@click.pass_obj
def create(
    obj: dict[str, Any],
    ctf_file: Path | None,
    upns: tuple[str, ...],
    to_reference: str | None,
    offer: bool,
    in_worker: bool,
    act_as: str,
) -> None:
    """Start a transfer for each pupil of a CTF, or each UPN given, with a progress bar."""
    from exchange.outbox.service import written_in
    from exchange.partners.destinations import find
    from exchange.records.sealed_reads import upn_is
    from exchange.transfers import batch as batch_service
    from exchange.transfers.batch_sources import children_from_ctf, children_from_list
    from exchange.transfers.batch_task import queue_batch

    if (ctf_file is None) == (not upns):
        raise click.UsageError("give either --ctf FILE or one or more --upn")
    instance = obj["instance"]
    with transaction(obj["session_factory"]) as session:
        school = session.get(School, obj["school_id"])
        destination = find(session, school.id, to_reference) if to_reference else None
        if ctf_file is not None:
            children, problems = children_from_ctf(
                session, school, ctf_file.read_bytes(), destination
            )
            source = "ctf"
        else:
            ids, problems = [], []
            for upn in upns:
                pupil_id = session.scalar(
                    select(Pupil.id).where(
                        Pupil.school_id == school.id, upn_is(session, school.id, upn.strip())
                    )
                )
                if pupil_id is None:
                    problems.append((upn, "no pupil with this UPN at this school"))
                else:
                    ids.append(pupil_id)
            children, more = children_from_list(session, school, ids, destination)
            problems += more
            source = "list"
        actor = actor_for(session, school.id, act_as)
        batch = batch_service.plan_batch(
            session, school, actor, children, source=source, problems=problems, offer=offer
        )
        queue_batch(session, batch, actor)  # The same task as the web's, here or in the worker.
        batch_id = batch.id
        pending = written_in(session)
    with click.progressbar(length=len(children), label="Starting transfers") as bar:
        if in_worker:
            _send(instance, pending)
            if not follow_batch(instance, batch_id, bar.update):
                raise click.ClickException("the worker has not finished the batch: try `show`")
        else:
            _run_here(instance, pending, bar.update)
    _report(instance, batch_id)
    click.echo(
        "Next: the receiving schools answer; record each needed conversation with "
        "`exchange transfers conversation`; then `exchange batches authorise BATCH --confirm`."
    )


def _run_here(instance: Any, ids: list[int], progress: Any) -> None:
    """Make the batch in this process; queue each child's own tasks (offers) on Celery."""
    from exchange.outbox.service import celery_sender, dispatch
    from exchange.tasks import names
    from exchange.tasks.celery_app import make_celery
    from exchange.transfers.batch_task import run_batch

    app = make_celery(instance.config)
    queue = celery_sender(app)

    def send(task: str, args: list, outbox_id: int) -> None:
        if task == names.CREATE_BATCH:
            run_batch(instance, args[0], outbox_id, send=queue, progress=progress)
        else:
            queue(task, args, outbox_id)

    try:
        dispatch(instance.sessions, send, ids)
    finally:
        app.close()


def follow_batch(instance: Any, batch_id: int, progress: Any, *, timeout: float = 3600.0) -> bool:
    """Report the worker's progress until the batch is made or stops; False on timeout."""
    from exchange.transfers.batch_task import FINISHED, STOPPED, run_state

    deadline = time.monotonic() + timeout
    shown = 0
    while time.monotonic() < deadline:
        with instance.sessions() as session:
            batch = session.get(TransferBatch, batch_id)
            started = sum(1 for entry in batch.plan or [] if entry["done"])
            state = run_state(batch)
        if started > shown:
            progress(started - shown)
            shown = started
        if state in (FINISHED, STOPPED):
            return True
        time.sleep(POLL_SECONDS)
    return False


def _report(instance: Any, batch_id: int) -> None:
    from exchange.transfers import batch as batch_service

    with instance.sessions() as session:
        batch = session.get(TransferBatch, batch_id)
        started = len(batch_service.batch_transfers(session, batch))
        click.echo(f"batch {batch.batch_uid}: {started} of {batch.total} children started")
        if batch.stopped:
            click.echo(f"  {batch.stopped} (`exchange batches retry {batch.batch_uid[:8]}`)")
        for problem in batch.problems or []:
            where = "waiting     " if problem.get("transfer_id") else "not started "
            click.echo(f"  {where} UPN {problem['child']}: {problem['problem']}")


@batches.command("show")
@click.argument("reference")
@click.pass_obj
def show(obj: dict[str, Any], reference: str) -> None:
    """Print each child of a batch (UPN), its step and what its next step needs."""
    from exchange.transfers import batch as batch_service
    from exchange.transfers.batch_task import run_state
    from exchange.transfers.states import WORDS

    with obj["session_factory"]() as session:
        batch = _batch(session, obj["school_id"], reference)
        transfers = batch_service.batch_transfers(session, batch)
        click.echo(f"batch {batch.batch_uid}: {batch.done} of {batch.total} started")
        for transfer in transfers:
            click.echo(
                f"  {transfer.transfer_uid}  UPN {transfer.pupil_upn}  {WORDS[transfer.state]}"
            )
        click.echo(f"  {RUN_WORDS[run_state(batch)]}")
        for problem in batch.problems or []:
            where = "waiting     " if problem.get("transfer_id") else "not started "
            click.echo(f"  {where} UPN {problem['child']}: {problem['problem']}")


@batches.command("retry")
@click.argument("reference")
@click.pass_obj
def retry(obj: dict[str, Any], reference: str) -> None:
    """Start a stopped or stalled batch again, in this process: only children not yet started."""
    from exchange.outbox.service import written_in
    from exchange.transfers.actors import OPERATOR_ACTOR
    from exchange.transfers.batch_task import can_retry, queue_batch

    instance = obj["instance"]
    with transaction(obj["session_factory"]) as session:
        batch = _batch(session, obj["school_id"], reference)
        if not can_retry(batch):
            raise click.ClickException("this batch is being made or is finished")
        queue_batch(session, batch, OPERATOR_ACTOR)  # Audited as the operator, as keys are.
        batch_id, left = batch.id, sum(1 for e in batch.plan or [] if not e["done"])
        pending = written_in(session)
    with click.progressbar(length=left, label="Starting transfers") as bar:
        _run_here(instance, pending, bar.update)
    _report(instance, batch_id)


@batches.command("offer")
@click.argument("reference")
@ACT_AS
@click.pass_obj
def offer_ready(obj: dict[str, Any], reference: str, act_as: str) -> None:
    """Offer every child of the batch whose redaction review is ready; list the others."""
    _each(obj, reference, act_as, "offer", "Offering", "offered")


def _each(
    obj: dict[str, Any], reference: str, act_as: str, action: str, label: str, done_words: str,
    **inputs: Any,
) -> None:  # fmt: skip
    from exchange.outbox.service import written_in
    from exchange.transfers import batch as batch_service

    instance = obj["instance"]
    with transaction(obj["session_factory"]) as session:
        batch = _batch(session, obj["school_id"], reference)
        transfers = batch_service.batch_transfers(session, batch)
        actor = actor_for(session, batch.school_id, act_as)
        with click.progressbar(length=len(transfers), label=label) as bar:
            outcomes = batch_service.take_each(
                session, instance, transfers, action, actor, progress=bar.update, **inputs
            )
        done = sum(1 for outcome in outcomes if outcome.done)
        click.echo(f"{done_words} {done} of {len(outcomes)}")
        for outcome in outcomes:
            if not outcome.done:
                click.echo(f"  not {done_words}  UPN {outcome.child}: {outcome.message}")
        pending = written_in(session)
    _send(instance, pending)


@batches.command("authorise")
@click.argument("reference")
@click.option("--confirm", is_flag=True, required=True, help="Confirm you authorise these now.")
@ACT_AS
@click.pass_obj
def authorise(obj: dict[str, Any], reference: str, confirm: bool, act_as: str) -> None:
    """Authorise every child of the batch whose steps are met (one code); list the others."""
    from exchange.cli_second_factor import second_factor_confirmed

    fresh = confirm and second_factor_confirmed()
    _each(
        obj, reference, act_as, "authorise", "Authorising", "authorised", fresh_second_factor=fresh
    )
