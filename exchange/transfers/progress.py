"""How far a transfer has gone, in the words of the DSL's task list (display only).

What may be done next is never decided here: the page asks the workflow (`can_do`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from exchange.transfers import states
from exchange.transfers.models import Transfer

ORDER = (
    states.DRAFT,
    states.REDACTION_REVIEW,
    states.OFFERED,
    states.ACCEPTED,
    states.CONVERSATION_RECORDED,
    states.AUTHORISED,
    states.DELIVERED,
    states.RECEIPTED,
    states.CLOSED,
)


@dataclass(frozen=True)
class Task:
    """One line of the task list: its name, link (endpoint or None), status, tag colour, id."""

    name: str
    endpoint: str | None
    status: str
    colour: str
    id: str


def stage(transfer: Transfer) -> int:
    """Return how far along the main path the transfer is (-1 off it)."""
    if transfer.state == states.EXPORTED:
        return ORDER.index(states.DELIVERED)
    return ORDER.index(transfer.state) if transfer.state in ORDER else -1


def is_open(transfer: Transfer) -> bool:
    """Return whether the transfer still needs someone (not closed, withdrawn or refused)."""
    return transfer.state in states.OPEN_STATES


def is_imported(transfer: Transfer) -> bool:
    """Return whether a received file was imported (its receipt signed as complete)."""
    return transfer.state in (states.RECEIPTED, states.CLOSED)


# The file has left: delivered online, exported offline, or receipted (and perhaps closed).
REACHED = frozenset({states.DELIVERED, states.EXPORTED, states.RECEIPTED, states.CLOSED})
# A transfer whose clock no longer matters: finished, withdrawn or refused.
SETTLED = frozenset({states.CLOSED, states.WITHDRAWN, states.REJECTED})


def has_reached(transfer: Transfer) -> bool:
    """Return whether the file has reached the other school (or left on the offline route)."""
    return transfer.state in REACHED


def clock_runs(transfer: Transfer | None) -> bool:
    """Return whether a child's clock still counts (no transfer, or one not settled)."""
    return transfer is None or transfer.state not in SETTLED


def awaits_file(transfer: Transfer) -> bool:
    """Return whether an open transfer has not yet sent its file to the other school."""
    return is_open(transfer) and transfer.state not in (states.DELIVERED, states.EXPORTED)


def was_withdrawn(transfer: Transfer) -> bool:
    """Return whether the sending school withdrew this transfer."""
    return transfer.state == states.WITHDRAWN


def in_state(transfer: Transfer, name: str) -> bool:
    """Return whether the transfer is in the named state (for filters, never as a guard)."""
    return transfer.state == name


def is_overdue(transfer: Transfer, today: date) -> bool:
    """Return whether a transfer whose file has not reached the other school is past its date."""
    return bool(awaits_file(transfer) and transfer.deadline and transfer.deadline < today)


def _link(can: bool, endpoint: str) -> str | None:
    return endpoint if can else None


def _ready(can: bool, done: bool, waiting: str = "Cannot start yet") -> tuple[str, str]:
    if done:
        return "Completed", ""
    return ("Ready", "blue") if can else (waiting, "grey")


def _review_status(at: int, flags: int, changed: int) -> str:
    if at < 1:
        return "Cannot start yet"
    if changed:
        return f"{changed} changed since: redact again"
    return f"{flags} to resolve" if flags else "Completed"


def outgoing_tasks(
    transfer: Transfer,
    can_do: set[str],
    flags: int,
    conversation_required: bool,
    changed: int = 0,
) -> list[Task]:
    """Return the departing DSL's task list (`changed`: texts changed since their review)."""
    at, state, offline = stage(transfer), transfer.state, transfer.route == "offline"
    tasks = [
        Task(
            "Choose what goes",
            _link("select_item" in can_do, "transfer_pages.items"),
            "In progress" if at == 0 else ("Completed" if at > 0 else "Stopped"),
            "blue" if at == 0 else "",
            "task-items",
        ),
        Task(
            "Review redactions",
            _link(at >= 1, "transfer_pages.redactions"),
            _review_status(at, flags, changed),
            "grey" if at < 1 else ("red" if flags or changed else ""),
            "task-redactions",
        ),
        Task(
            "Preview the chronology",
            _link(at >= 1, "transfer_pages.chronology"),
            "Cannot start yet" if at < 1 else "Available",
            "grey" if at < 1 else "",
            "task-preview",
        ),
    ]
    if not offline:
        offer_status = {
            states.REJECTED: "Rejected",
            states.EXPIRED: "Expired",
            states.OFFERED: "Waiting for an answer",
        }
        tasks.append(
            Task(
                "Send the offer",
                None,
                offer_status.get(state, "Not sent" if at < 2 else "Accepted"),
                "blue" if state == states.OFFERED else ("grey" if at < 2 else ""),
                "task-offer",
            )
        )
    talked = bool(transfer.conversation_held_on)
    status, colour = _ready("record_conversation" in can_do, talked and at >= 4)
    if not talked and "record_conversation" not in can_do:
        status = "Required" if conversation_required else "Optional"
    tasks.append(
        Task(
            "Record the DSL conversation",
            _link("record_conversation" in can_do, "transfer_pages.conversation"),
            status,
            colour,
            "task-conversation",
        )
    )
    status, colour = _ready("authorise" in can_do, at >= 5)
    if status == "Cannot start yet":
        status = authorise_missing(transfer, flags, conversation_required)
    tasks.append(
        Task(
            "Authorise",
            _link("authorise" in can_do, "transfer_pages.authorise"),
            status,
            colour,
            "task-authorise",
        )
    )
    tasks.extend(_offline_tasks(transfer, can_do) if offline else [_delivery_task(transfer)])
    return tasks


def authorise_missing(transfer: Transfer, flags: int, conversation_required: bool) -> str:
    """Return what must happen before this transfer can be authorised, in the DSL's words."""
    at, state = stage(transfer), transfer.state
    if transfer.authorised_at is not None:
        return "Completed"
    if at < 0:
        return "Stopped"
    if at < ORDER.index(states.REDACTION_REVIEW):
        return "Choose what goes and start the redaction review first"
    if flags:
        return f"Resolve {flags} redaction flag{'s' if flags > 1 else ''} first"
    if transfer.route != "offline" and at < ORDER.index(states.ACCEPTED):
        if state == states.OFFERED:
            return "Waiting for the other school to accept"
        return "Send the offer first"
    if conversation_required and not transfer.conversation_held_on:
        return "Record the DSL conversation first"
    return "Needs the DSL (deputies may not authorise at this school)"


def _offline_tasks(transfer: Transfer, can_do: set[str]) -> list[Task]:
    exported, received = (
        transfer.state == states.EXPORTED,
        stage(transfer) >= ORDER.index(states.RECEIPTED),
    )
    export_status, export_colour = _ready("export" in can_do, received)
    if exported:
        export_status, export_colour = "Exported", ""
    code_status, code_colour = _ready("confirm_receipt_code" in can_do, received)
    if "confirm_receipt_code" in can_do:
        code_status = "Waiting for the code"
    elif received:
        code_status = "Receipt recorded"
    return [
        Task(
            "Export the zip",
            _link("export" in can_do or exported, "transfer_actions.export"),
            export_status,
            export_colour,
            "task-export",
        ),
        Task(
            "Enter the receipt code",
            _link("confirm_receipt_code" in can_do, "transfer_actions.receipt_code"),
            code_status,
            code_colour,
            "task-receipt-code",
        ),
    ]


def _delivery_task(transfer: Transfer) -> Task:
    at = stage(transfer)
    words = {
        states.AUTHORISED: ("Sending", "grey"),
        states.DELIVERED: ("Delivered", "grey"),
        states.RECEIPTED: ("Receipt verified", ""),
        states.CLOSED: ("Receipt verified", ""),
        states.FAILED: ("Failed", "red"),
    }
    status, colour = words.get(transfer.state, ("Not sent" if at < 5 else "Stopped", "grey"))
    return Task("Delivery and receipt", None, status, colour, "task-delivery")
