"""What a transfer waits for: the next step on the main path and, if it cannot be taken yet,
what blocks it, in the workflow's own refusal words (nothing is re-decided here)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from exchange.instance import Instance
from exchange.records.models import School
from exchange.transfers import workflow
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer
from exchange.transfers.workflow_types import Action, ActionRefused, Step

# The order a DSL meets the steps in (display order only; the workflow says which may start).
MAIN_PATH = (
    "start_review",
    "offer",
    "accept",
    "record_conversation",
    "authorise",
    "export",
    "confirm_receipt_code",
    "retry",
    "acknowledge",
    "confirm_destruction",
)
# Inputs a person gives when taking the step, assumed given: only the state of the transfer
# (flags, conversation, keys, destination) is reported as blocking.
GIVEN_WHEN_TAKEN = {"fresh_second_factor": True, "reason": "(given)", "on_roll_confirmed": True}
STEPS_IN_ORDER = (
    "create -> review -> (resolve flags) -> offer -> the other school accepts -> "
    "conversation -> authorise -> delivered, receipted, closed; offline: "
    "create -> review -> conversation -> authorise -> export -> receipt-code"
)


@dataclass(frozen=True)
class Outlook:
    """The next step a person can take (or None), what blocks it, and what the service awaits."""

    step: Action | None
    blocked_by: str | None
    waiting_for: tuple[Action, ...]
    others: tuple[tuple[Action, str | None], ...]


def _refusal(step: Step, action: Action) -> str | None:
    try:
        workflow.check(step, action)
    except ActionRefused as refused:
        return refused.message
    return None


def _starts_here(action: Action, transfer: Transfer) -> bool:
    return transfer.direction in action.sides and action.starts_from(transfer.route, transfer.state)


def outlook(
    session: Session, instance: Instance | None, transfer: Transfer, actor: Actor
) -> Outlook:
    """Return what comes next for this transfer, as the workflow would answer this actor."""
    school = session.get(School, transfer.school_id)
    assert school is not None
    step = Step(session, instance, school, transfer, actor, dict(GIVEN_WHEN_TAKEN))
    here = [a for a in workflow.ACTIONS.values() if _starts_here(a, transfer)]
    people = [a for a in here if a.permission != "transfer.system"]
    system = tuple(a for a in here if a.permission == "transfer.system")
    main = [a for name in MAIN_PATH for a in people if a.name == name]
    others = tuple((a, _refusal(step, a)) for a in people if a not in main)
    if not main:
        return Outlook(None, None, system, others)
    first = next((a for a in main if _refusal(step, a) is None), main[0])
    rest = tuple((a, _refusal(step, a)) for a in main if a is not first)
    return Outlook(first, _refusal(step, first), system, rest + others)


def what_comes_first(
    session: Session, instance: Instance | None, transfer: Transfer, actor: Actor
) -> str:
    """Return, for a refusal, the step this actor can take now instead (or what is awaited)."""
    seen = outlook(session, instance, transfer, actor)
    if seen.step is not None:
        blocked = f", once this is done: {seen.blocked_by}" if seen.blocked_by else ""
        return f"the next step is: {seen.step.summary}{blocked}"
    if seen.waiting_for:
        return "the transfer waits for: " + "; or ".join(a.summary for a in seen.waiting_for)
    return "nothing more is needed on this transfer"
