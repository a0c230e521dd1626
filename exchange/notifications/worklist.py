"""What waits for a school's DSLs: offers to answer, steps to take, deadlines, files to read.

One place answers "what needs me?" for the start page, the counts in the navigation and the
daily digest email, so the three never disagree. Queries name the school explicitly: the
worker calls them outside a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.models import AuditEntry
from exchange.calendar.store import load
from exchange.records.models import Pupil, School
from exchange.transfers.acknowledgement import HERE as ACKNOWLEDGED
from exchange.transfers.clock import Clock, clock_for
from exchange.transfers.models import INCOMING, OUTGOING, Transfer

ACKNOWLEDGE_DAYS = 5  # School days the receiving school gives itself to read an arrived file.
# From the most meaningful state of a child's transfers to the least: a file that reached the
# new school says more than a second transfer withdrawn after it.
MEANING = (
    "closed",
    "receipted",
    "delivered",
    "exported",
    "recall_requested",
    "recalled",
    "authorised",
    "conversation_recorded",
    "accepted",
    "offered",
    "redaction_review",
    "draft",
    "failed",
    "rejected",
    "expired",
    "withdrawn",
)
REACHED = frozenset({"closed", "receipted", "delivered", "exported"})
# The departing DSL's next step, by state (display only; the workflow decides what is allowed).
NEXT_STEP = {
    "draft": "Choose what goes, then start the redaction review",
    "redaction_review": "Resolve the redactions and send the offer",
    "accepted": "Record the DSL conversation",
    "conversation_recorded": "Authorise the transfer",
    "failed": "Delivery failed: retry or export the file",
    "exported": "Enter the receipt code read back by the new school",
}


def most_meaningful(transfers: Iterable[Transfer]) -> Transfer | None:
    """Return the transfer whose state best tells where a child's file stands."""

    def rank(transfer: Transfer) -> tuple[int, int]:
        meaning = MEANING.index(transfer.state) if transfer.state in MEANING else len(MEANING)
        return meaning, -transfer.id

    return min(transfers, key=rank, default=None)


@dataclass(frozen=True)
class Leaver:
    """A child leaving whose file has not yet reached the new school."""

    pupil: Pupil
    transfer: Transfer | None
    clock: Clock


@dataclass
class DslWork:
    """Everything waiting for the school's DSLs."""

    offers: list[Transfer] = field(default_factory=list)
    to_act_on: list[tuple[Transfer, str]] = field(default_factory=list)
    leavers: list[Leaver] = field(default_factory=list)
    unacknowledged: list[Transfer] = field(default_factory=list)
    # For each file not yet acknowledged: the day to read it by, and school days left (or < 0).
    acknowledge_by: dict[int, tuple[date, int]] = field(default_factory=dict)

    @property
    def due_soon(self) -> list[Leaver]:
        """Return the leavers due within 5 school days or overdue."""
        return [row for row in self.leavers if row.clock.school_days_left <= 5]

    @property
    def overdue(self) -> list[Leaver]:
        """Return the leavers whose deadline has passed."""
        return [row for row in self.leavers if row.clock.overdue]

    def count(self) -> int:
        """Return how many things wait: the figure beside "Start" in the navigation."""
        return (
            len(self.offers) + len(self.to_act_on) + len(self.due_soon) + len(self.unacknowledged)
        )


def _transfers(session: Session, school_id: int) -> list[Transfer]:
    return list(
        session.scalars(
            select(Transfer)
            .where(Transfer.school_id == school_id)
            .order_by(Transfer.deadline, Transfer.id)
        )
    )


def acknowledged_uids(session: Session, school_id: int) -> set[str]:
    """Return the transfers a person at the school recorded as read and acted on."""
    return set(
        session.scalars(
            select(AuditEntry.object_id).where(
                AuditEntry.school_id == school_id,
                AuditEntry.event == ACKNOWLEDGED,
                AuditEntry.object_type == "transfer",
            )
        )
    )


def leavers(
    session: Session, school: School, transfers: list[Transfer], today: date
) -> list[Leaver]:
    """Return the school's leavers whose file has not reached the new school, soonest first."""
    by_pupil: dict[int, list[Transfer]] = {}
    for transfer in transfers:
        if transfer.direction == OUTGOING and transfer.pupil_id is not None:
            by_pupil.setdefault(transfer.pupil_id, []).append(transfer)
    rows = []
    pupils = session.scalars(
        select(Pupil).where(Pupil.school_id == school.id, Pupil.leaving_date.is_not(None))
    )
    for pupil in pupils:
        transfer = most_meaningful(by_pupil.get(pupil.id, ()))
        if transfer is not None and transfer.state in REACHED:
            continue
        deadline = transfer.deadline if transfer is not None else None
        rows.append(Leaver(pupil, transfer, clock_for(school, pupil.leaving_date, deadline, today)))
    return sorted(rows, key=lambda row: (row.clock.deadline, row.pupil.id))


def _acknowledge_by(school: School, transfer: Transfer, today: date) -> tuple[date, int]:
    """Return when a person should have read an arrived file, and school days left for it."""
    calendar = load(school)
    arrived = (transfer.delivered_at or transfer.updated_at).date()
    due = calendar.nth_school_day_after(arrived, ACKNOWLEDGE_DAYS)
    if due >= today:
        return due, calendar.school_days_between(today, due)
    return due, min(-calendar.school_days_between(due, today), -1)


def dsl_work(session: Session, school: School, today: date) -> DslWork:
    """Return what waits for the school's DSLs today."""
    transfers = _transfers(session, school.id)
    seen = acknowledged_uids(session, school.id)
    work = DslWork(leavers=leavers(session, school, transfers, today))
    for transfer in transfers:
        if transfer.direction == INCOMING:
            if transfer.state == "offered":
                work.offers.append(transfer)
            elif transfer.state in ("receipted", "closed") and transfer.transfer_uid not in seen:
                work.unacknowledged.append(transfer)
                work.acknowledge_by[transfer.id] = _acknowledge_by(school, transfer, today)
        elif transfer.state in NEXT_STEP:
            work.to_act_on.append((transfer, NEXT_STEP[transfer.state]))
    return work
