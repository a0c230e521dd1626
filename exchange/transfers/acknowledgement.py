"""A person at the receiving school reads an arrived file and records what they did about it.

The receiving DSL's "read and acted on" is audited at the receiving school and, on the online
route, signed to the sending school as an `acknowledged` notice (protocol 1.2,
docs/protocol.md): the date and the codes of the actions taken, never any case detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.entry import parse_entry
from exchange.audit.models import AuditEntry
from exchange.transfers.messages import Message, MessageRefused
from exchange.transfers.models import INCOMING, Transfer
from exchange.transfers.notices import ACKNOWLEDGED, offer_was_sent, sign_notice
from exchange.transfers.steps import audit
from exchange.transfers.workflow_types import ActionRefused, Step

# What a receiving DSL may record having done after reading a file (the codes travel).
ACTIONS = {
    "read": "Read the file in full",
    "senco": "Told the SENCO",
    "plan": "Reviewed the child's plan or support",
    "staff": "Briefed the staff who need to know",
    "agencies": "Contacted the agencies involved",
}
READ = "read"
HERE = "transfer.acknowledged"  # The receiving school's own audit event.
THERE = "transfer.partner_acknowledged"  # The sending school's, on the signed notice.


@dataclass(frozen=True)
class Acknowledgement:
    """Who read an arrived file (here) or that the other school did, when, and what they did."""

    on: date
    actions: tuple[str, ...]
    recorded_at: datetime
    user_id: int | None

    @property
    def words(self) -> list[str]:
        """Return the actions in the DSL's words."""
        return [ACTIONS[code] for code in self.actions if code in ACTIONS]


def _event(transfer: Transfer) -> str:
    return HERE if transfer.direction == INCOMING else THERE


def acknowledgement_of(session: Session, transfer: Transfer) -> Acknowledgement | None:
    """Return the recorded acknowledgement of this transfer at this school, if any."""
    row = session.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.school_id == transfer.school_id,
            AuditEntry.event == _event(transfer),
            AuditEntry.object_type == "transfer",
            AuditEntry.object_id == transfer.transfer_uid,
        )
        .order_by(AuditEntry.seq)
        .limit(1)
    )
    if row is None:
        return None
    entry = parse_entry(row.canonical)
    details, user = entry["details"], entry["actor"]["user"]
    return Acknowledgement(
        on=date.fromisoformat(details["on"]),
        actions=tuple(details.get("actions", ())),
        recorded_at=row.recorded_at,
        user_id=int(user) if user and user.isdigit() else None,
    )


def not_yet_acknowledged(step: Step) -> str | None:
    """Refuse a second acknowledgement of the same transfer (precondition)."""
    if acknowledgement_of(step.session, step.need_transfer) is None:
        return None
    return "This file was already recorded as read and acted on"


def acknowledge(step: Step) -> None:
    """Audit who read the file and what they did; sign the notice for the sending school."""
    chosen = [code for code in ACTIONS if code in (step.inputs.get("actions") or ())]
    if READ not in chosen:
        raise ActionRefused("Confirm that you read the file in full", status_code=400)
    on: date = step.inputs.get("on") or date.today()
    details = {"actions": chosen, "on": on.isoformat()}
    audit(step.session, step.need_transfer, step.actor, HERE, details)
    if offer_was_sent(step.need_transfer):
        sign_notice(step, ACKNOWLEDGED, None, acknowledged=details)


def partner_acknowledged(step: Step) -> None:
    """Keep the receiving school's signed acknowledgement and audit it here."""
    message: Message = step.inputs["message"]
    body = message.payload.get("acknowledged")
    if not isinstance(body, dict):
        raise MessageRefused("an acknowledged notice must carry its date and actions")
    actions, on = body.get("actions"), body.get("on")
    if not isinstance(actions, list) or not set(actions) <= set(ACTIONS) or READ not in actions:
        raise MessageRefused("the acknowledged actions must be known codes, including read")
    try:
        day = date.fromisoformat(on) if isinstance(on, str) and len(on) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise MessageRefused("the acknowledged date must be a date (YYYY-MM-DD)")
    step.need_transfer.partner_notice_jws = message.token
    audit(
        step.session,
        step.need_transfer,
        step.actor,
        THERE,
        {"actions": [code for code in ACTIONS if code in actions], "on": day.isoformat()},
    )
