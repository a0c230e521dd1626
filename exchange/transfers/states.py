"""The transfer state machine: which step may follow which, for whom, on which side."""

from __future__ import annotations

from exchange.errors import ExchangeError

DRAFT = "draft"
REDACTION_REVIEW = "redaction_review"
OFFERED = "offered"
ACCEPTED = "accepted"
REJECTED = "rejected"
CONVERSATION_RECORDED = "conversation_recorded"
AUTHORISED = "authorised"
DELIVERED = "delivered"
RECEIPTED = "receipted"
CLOSED = "closed"
FAILED = "failed"
EXPIRED = "expired"
WITHDRAWN = "withdrawn"
EXPORTED = "exported"

SYSTEM = "system"  # The worker or the partner's signed message, not a signed-in person.
DSL_ROLES = frozenset({"dsl", "deputy_dsl"})

# (from state, to state) -> who may take the step, for a transfer this school sends.
OUTGOING: dict[tuple[str, str], frozenset[str]] = {
    (DRAFT, REDACTION_REVIEW): DSL_ROLES,
    (REDACTION_REVIEW, DRAFT): DSL_ROLES,
    (REDACTION_REVIEW, OFFERED): DSL_ROLES,
    (
        REDACTION_REVIEW,
        CONVERSATION_RECORDED,
    ): DSL_ROLES,  # Offline: no offer to a school without the service.
    (OFFERED, ACCEPTED): frozenset({SYSTEM}),
    (OFFERED, REJECTED): frozenset({SYSTEM}),
    (OFFERED, EXPIRED): frozenset({SYSTEM}),
    (ACCEPTED, CONVERSATION_RECORDED): DSL_ROLES,
    (ACCEPTED, AUTHORISED): DSL_ROLES,  # When the school does not require the conversation.
    (CONVERSATION_RECORDED, AUTHORISED): DSL_ROLES,
    (AUTHORISED, DELIVERED): frozenset({SYSTEM}),
    (AUTHORISED, FAILED): frozenset({SYSTEM}),
    (AUTHORISED, EXPORTED): DSL_ROLES,
    (FAILED, AUTHORISED): DSL_ROLES,  # The DSL retries after the cause is fixed.
    (DELIVERED, RECEIPTED): frozenset({SYSTEM}),
    (DELIVERED, FAILED): frozenset({SYSTEM}),
    (EXPORTED, RECEIPTED): DSL_ROLES | {SYSTEM},
    (RECEIPTED, CLOSED): frozenset({SYSTEM}),
}
for _state in (
    DRAFT,
    REDACTION_REVIEW,
    OFFERED,
    ACCEPTED,
    CONVERSATION_RECORDED,
    AUTHORISED,
    FAILED,
):
    OUTGOING[(_state, WITHDRAWN)] = DSL_ROLES

# The same for a transfer this school receives.
INCOMING: dict[tuple[str, str], frozenset[str]] = {
    (OFFERED, ACCEPTED): DSL_ROLES,
    (OFFERED, REJECTED): DSL_ROLES,
    (OFFERED, EXPIRED): frozenset({SYSTEM}),
    (OFFERED, WITHDRAWN): frozenset({SYSTEM}),
    (ACCEPTED, RECEIPTED): frozenset({SYSTEM}),
    (ACCEPTED, WITHDRAWN): frozenset({SYSTEM}),
    (RECEIPTED, CLOSED): frozenset({SYSTEM}),
}

OPEN_STATES = frozenset(
    {
        DRAFT,
        REDACTION_REVIEW,
        OFFERED,
        ACCEPTED,
        CONVERSATION_RECORDED,
        AUTHORISED,
        DELIVERED,
        EXPORTED,
        FAILED,
    }
)


class TransitionRefused(ExchangeError):
    """A step that the state machine does not allow from here, or not for this person."""

    code = "transition_refused"
    status_code = 409


def check_transition(direction: str, current: str, target: str, actor_role: str) -> None:
    """Raise TransitionRefused unless the step is allowed for this actor."""
    table = OUTGOING if direction == "outgoing" else INCOMING
    allowed = table.get((current, target))
    if allowed is None:
        raise TransitionRefused(f"a transfer cannot go from {current} to {target}")
    if actor_role not in allowed:
        raise TransitionRefused(f"the {actor_role} role cannot move a transfer to {target}")
