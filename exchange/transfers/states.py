"""The states of a transfer, and how a DSL reads them. Which action moves between them is
declared once, in `exchange.transfers.workflow`."""

from __future__ import annotations

from exchange.auth.permissions import DSLS
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
RECALL_REQUESTED = "recall_requested"
RECALLED = "recalled"

DSL_ROLES = DSLS

WORDS = {
    DRAFT: "a draft",
    REDACTION_REVIEW: "in redaction review",
    OFFERED: "offered",
    ACCEPTED: "accepted",
    REJECTED: "rejected",
    CONVERSATION_RECORDED: "waiting for authorisation (conversation recorded)",
    AUTHORISED: "authorised",
    DELIVERED: "delivered",
    RECEIPTED: "receipted",
    CLOSED: "closed",
    FAILED: "failed",
    EXPIRED: "expired",
    WITHDRAWN: "withdrawn",
    EXPORTED: "exported",
    RECALL_REQUESTED: "recalled by the sending school, waiting for the receiving DSL",
    RECALLED: "recalled (the receiving school destroyed its copy)",
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
        RECALL_REQUESTED,
    }
)


class TransitionRefused(ExchangeError):
    """A step that the workflow does not allow from here, or not for this person."""

    code = "transition_refused"
    status_code = 409
