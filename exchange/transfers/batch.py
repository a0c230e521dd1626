"""September in bulk: take one workflow step for many children, each child on its own.

Every change still goes through `workflow.start`/`workflow.apply`, one call per child, each in
its own savepoint: a refusal undoes only that child's step and is reported beside the child in
the workflow's own words; everything else in the batch goes ahead. An unexpected error stops
the whole batch and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.errors import ExchangeError
from exchange.instance import Instance
from exchange.outbox.service import PENDING_KEY
from exchange.partners.models import Partner
from exchange.records.models import Pupil, School
from exchange.transfers import workflow
from exchange.transfers.actors import Actor
from exchange.transfers.models import INCOMING, OUTGOING, Transfer, TransferBatch
from exchange.transfers.outgoing import conversation_required
from exchange.transfers.workflow_types import ActionRefused, Step

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Outcome:
    """What one step did for one child: done, or the refusal in the workflow's words."""

    transfer_id: int | None
    child: str  # The UPN, or the CTF entry, for children who have no transfer.
    done: bool
    message: str


@dataclass(frozen=True)
class Answer:
    """The receiving DSL's answer to one offer in a batch form."""

    transfer: Transfer
    decision: str  # "accept" or "reject"
    on_roll_confirmed: bool
    reason: str = ""


@dataclass(frozen=True)
class Conversation:
    """One child's DSL-to-DSL conversation, from the batch form."""

    transfer: Transfer
    held_on: date
    participants: str
    summary: str


def take_one(
    session: Session,
    instance: Instance | None,
    transfer: Transfer,
    action: str,
    actor: Actor,
    **inputs: object,
) -> str | None:
    """Take one action in a savepoint; on a refusal undo it, audit it, and return its words."""
    pending = list(session.info.get(PENDING_KEY, []))
    savepoint = session.begin_nested()
    try:
        workflow.apply(session, instance, transfer, action, actor, **inputs)
    except ExchangeError as refused:
        savepoint.rollback()
        session.info[PENDING_KEY] = pending  # The undone step's effects are never sent.
        workflow.record_refusal(session, refused)
        return refused.message
    savepoint.commit()
    return None


def why_not(
    session: Session, instance: Instance | None, transfer: Transfer, action: str, actor: Actor
) -> str | None:
    """Return why this action cannot start from the transfer's state, or None if it can."""
    school = session.get(School, transfer.school_id)
    assert school is not None
    try:
        workflow.check(
            Step(session, instance, school, transfer, actor, {}),
            workflow.ACTIONS[action],
            preconditions=False,
        )
    except ActionRefused as refused:
        return refused.message
    return None


def take_each(
    session: Session,
    instance: Instance | None,
    transfers: Iterable[Transfer],
    action: str,
    actor: Actor,
    progress: Progress | None = None,
    **inputs: object,
) -> list[Outcome]:
    """Take an action for each transfer that is at that step; report every child."""
    outcomes = []
    for transfer in transfers:
        problem = why_not(session, instance, transfer, action, actor)
        if problem is None:
            problem = take_one(session, instance, transfer, action, actor, **inputs)
        outcomes.append(Outcome(transfer.id, transfer.pupil_upn, problem is None, problem or ""))
        if progress is not None:
            progress(1)
    return outcomes


def new_batch(
    session: Session, school: School, actor: Actor, source: str, total: int
) -> TransferBatch:
    """Record a new outgoing batch of `total` children."""
    batch = TransferBatch(
        school_id=school.id,
        batch_uid=str(uuid.uuid4()),
        direction=OUTGOING,
        source=source,
        created_by_user_id=actor.user_id,
        total=total,
        done=0,
        problems=[],
    )
    session.add(batch)
    session.flush()
    return batch


def plan_batch(
    session: Session,
    school: School,
    actor: Actor,
    children: list[tuple[Pupil, Partner]],
    *,
    source: str,
    problems: Iterable[tuple[str, str]] = (),
    offer: bool = True,
) -> TransferBatch:
    """Record a batch and its plan (ids only): the children to start, and those already refused."""
    problems = list(problems)
    batch = new_batch(session, school, actor, source, len(children) + len(problems))
    batch.done = len(problems)
    batch.problems = [
        {"child": child, "problem": problem, "transfer_id": None} for child, problem in problems
    ]
    batch.plan = [
        {"pupil": pupil.id, "partner": partner.id, "done": False} for pupil, partner in children
    ]
    batch.offer = offer
    return batch


def start_child(
    session: Session,
    instance: Instance | None,
    batch: TransferBatch,
    index: int,
    actor: Actor,
    leaving_date: date | None = None,
) -> Outcome | None:
    """Start the plan's child at `index` once (None if it already was) and note any problem."""
    plan = [dict(entry) for entry in batch.plan or []]
    if plan[index]["done"]:
        return None
    school = session.get(School, batch.school_id)
    pupil = session.get(Pupil, plan[index]["pupil"])
    partner = session.get(Partner, plan[index]["partner"])
    assert school is not None
    if pupil is None or partner is None or pupil.school_id != school.id:
        outcome = Outcome(None, f"pupil {plan[index]['pupil']}", False, "no longer on the roll")
    else:
        offer = batch.offer is not False
        outcome = _start_one(
            session, instance, school, actor, batch, pupil, partner, leaving_date, offer
        )
    plan[index]["done"] = True
    batch.plan = plan
    batch.done += 1
    batch.progress_at = utcnow()
    if outcome.message:
        problem = {
            "child": outcome.child,
            "problem": outcome.message,
            "transfer_id": outcome.transfer_id,
        }
        batch.problems = [*(batch.problems or []), problem]
    return outcome


def finish(batch: TransferBatch) -> None:
    """Mark the batch's run finished: every child of the plan was tried."""
    batch.finished_at = utcnow()
    batch.queued_at = None
    batch.stopped = None


def create_batch(
    session: Session,
    instance: Instance | None,
    school: School,
    actor: Actor,
    children: list[tuple[Pupil, Partner]],
    *,
    source: str,
    leaving_date: date | None = None,
    problems: Iterable[tuple[str, str]] = (),
    offer: bool = True,
    progress: Progress | None = None,
) -> tuple[TransferBatch, list[Outcome]]:
    """Plan a batch and start every child in this session (the task does the same per child)."""
    problems = list(problems)
    batch = plan_batch(
        session, school, actor, children, source=source, problems=problems, offer=offer
    )
    outcomes = [Outcome(None, child, False, problem) for child, problem in problems]
    for index in range(len(children)):
        outcome = start_child(session, instance, batch, index, actor, leaving_date)
        assert outcome is not None
        outcomes.append(outcome)
        if progress is not None:
            progress(1)
    finish(batch)
    return batch, outcomes


def _start_one(
    session: Session,
    instance: Instance | None,
    school: School,
    actor: Actor,
    batch: TransferBatch,
    pupil: Pupil,
    partner: Partner,
    leaving_date: date | None,
    offer: bool,
) -> Outcome:
    pending = list(session.info.get(PENDING_KEY, []))
    savepoint = session.begin_nested()
    try:
        transfer = workflow.start(
            session, instance, school, "create", actor, pupil=pupil, partner=partner,
            leaving_date=leaving_date,
        )  # fmt: skip
        transfer.batch_id = batch.id
    except ExchangeError as refused:
        savepoint.rollback()
        session.info[PENDING_KEY] = pending
        return Outcome(None, pupil.upn, False, refused.message)
    savepoint.commit()
    for step in ("start_review", "offer") if offer else ("start_review",):
        if why_not(session, instance, transfer, step, actor) is not None:
            break  # This route has no such step (an offline destination is not offered).
        # The texts are redacted here, so that a child with no documents is offered at once.
        now = {"redact_texts_now": True} if step == "start_review" else {}
        problem = take_one(session, instance, transfer, step, actor, **now)
        if problem is not None:
            return Outcome(transfer.id, transfer.pupil_upn, True, problem)
    return Outcome(transfer.id, transfer.pupil_upn, True, "")


def batch_transfers(session: Session, batch: TransferBatch) -> list[Transfer]:
    """Return this school's transfers in the batch, in the order they were made."""
    return list(
        session.scalars(
            select(Transfer)
            .where(Transfer.school_id == batch.school_id, Transfer.batch_id == batch.id)
            .order_by(Transfer.id)
        )
    )


def answer_offers(
    session: Session, instance: Instance | None, actor: Actor, answers: Iterable[Answer]
) -> list[Outcome]:
    """Accept or reject each offer as the receiving DSL chose, one signed answer per child."""
    outcomes = []
    for answer in answers:
        transfer = answer.transfer
        problem = why_not(session, instance, transfer, answer.decision, actor)
        if problem is None:
            problem = take_one(
                session,
                instance,
                transfer,
                answer.decision,
                actor,
                on_roll_confirmed=answer.on_roll_confirmed,
                reason=answer.reason,
            )
        outcomes.append(Outcome(transfer.id, transfer.pupil_upn, problem is None, problem or ""))
    return outcomes


def record_conversations(
    session: Session, instance: Instance | None, actor: Actor, entries: Iterable[Conversation]
) -> list[Outcome]:
    """Record each child's DSL conversation from one form, each through the workflow."""
    outcomes = []
    for entry in entries:
        transfer = entry.transfer
        problem = why_not(session, instance, transfer, "record_conversation", actor)
        if problem is None:
            problem = take_one(
                session,
                instance,
                transfer,
                "record_conversation",
                actor,
                held_on=entry.held_on,
                participants=entry.participants,
                summary=entry.summary,
            )
        outcomes.append(Outcome(transfer.id, transfer.pupil_upn, problem is None, problem or ""))
    return outcomes


def needing_conversation(
    session: Session,
    instance: Instance | None,
    school: School,
    actor: Actor,
    transfers: Iterable[Transfer],
) -> list[Transfer]:
    """Return the transfers at the conversation step whose school requires one for the child."""
    return [
        transfer
        for transfer in transfers
        if not transfer.conversation_held_on
        and conversation_required(school, transfer)
        and workflow.allowed(session, instance, transfer, "record_conversation", actor)
    ]


def readiness(
    session: Session,
    instance: Instance | None,
    transfers: Iterable[Transfer],
    action: str,
    actor: Actor,
    **inputs: object,
) -> list[tuple[Transfer, str | None]]:
    """Return each transfer with what stops the action now (state or precondition), or None.

    The workflow's own checks answer, without taking the action: nothing changes.
    """
    rows = []
    for transfer in transfers:
        school = session.get(School, transfer.school_id)
        assert school is not None
        try:
            workflow.check(
                Step(session, instance, school, transfer, actor, dict(inputs)),
                workflow.ACTIONS[action],
            )
        except ActionRefused as refused:
            rows.append((transfer, refused.message))
            continue
        rows.append((transfer, None))
    return rows


@dataclass
class OfferGroup:
    """Offers waiting for an answer from one sending school, made together or alone."""

    partner_name: str
    batch: TransferBatch | None
    offers: list[Transfer]


def offers_waiting(
    session: Session, instance: Instance | None, school: School, actor: Actor
) -> list[OfferGroup]:
    """Return the offers this DSL may answer now, grouped by sending school and batch."""
    incoming = session.scalars(
        select(Transfer)
        .where(Transfer.school_id == school.id, Transfer.direction == INCOMING)
        .order_by(Transfer.id)
    )
    groups: dict[tuple[int, int | None], OfferGroup] = {}
    for transfer in incoming:
        if not workflow.allowed(session, instance, transfer, "accept", actor):
            continue
        key = (transfer.partner_id, transfer.batch_id)
        if key not in groups:
            batch = session.get(TransferBatch, transfer.batch_id) if transfer.batch_id else None
            groups[key] = OfferGroup(transfer.partner.name, batch, [])
        groups[key].offers.append(transfer)
    return sorted(groups.values(), key=lambda g: (g.partner_name, g.batch is None))


def outgoing_batches(session: Session, school: School) -> list[TransferBatch]:
    """Return this school's outgoing batches, newest first."""
    return list(
        session.scalars(
            select(TransferBatch)
            .where(TransferBatch.school_id == school.id, TransferBatch.direction == OUTGOING)
            .order_by(TransferBatch.id.desc())
        )
    )
