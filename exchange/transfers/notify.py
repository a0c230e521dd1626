"""Alerts to a school's DSL (and SENCO when a file arrives): by email, never with names in them."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.logs import get_logger
from exchange.records.models import School, User
from exchange.transfers.models import Transfer
from exchange.transfers.settings import school_setting

log = get_logger(__name__)

SUBJECTS = {
    "offer_received": "A safeguarding file is offered to your school",
    "offer_accepted": "Your offer of a safeguarding file was accepted",
    "offer_rejected": "Your offer of a safeguarding file was rejected",
    "file_received": "A safeguarding file has arrived for a pupil joining your school",
    "delivery_failed": "A safeguarding file could not be delivered",
    "overdue": "A safeguarding file transfer is overdue",
    "offer_expired": "Your offer of a safeguarding file expired unanswered",
    "offer_withdrawn": "An offer of a safeguarding file was withdrawn by its sender",
    "recall_requested": "A school recalled a safeguarding file it sent you",
    "recall_confirmed": "The receiving school destroyed the file you recalled",
}


def recipients(session: Session, school: School, event: str) -> list[str]:
    """Return who is told: the school's DSLs, its DSL mailbox, and its SENCO for arrivals."""
    users = session.scalars(
        select(User.email).where(
            User.school_id == school.id, User.role == "dsl", User.is_active.is_(True)
        )
    ).all()
    extra = [school_setting(school, "dsl_email")]
    if event == "file_received":
        extra.append(school_setting(school, "senco_email"))
    return sorted({address for address in [*users, *extra] if address})


def compose(transfer: Transfer, event: str, sender: str, to: list[str]) -> EmailMessage:
    """Return the alert: what happened and the transfer reference, no child's details."""
    message = EmailMessage()
    message["Subject"] = SUBJECTS[event]
    message["From"] = sender
    message["To"] = ", ".join(to)
    message.set_content(
        f"{SUBJECTS[event]}.\n\n"
        f"Transfer reference: {transfer.transfer_uid}\n"
        f"Deadline: {transfer.deadline.isoformat() if transfer.deadline else 'not set'}\n\n"
        "Sign in to the safeguarding exchange to see the details. This email deliberately "
        "holds no information about the child.\n"
    )
    return message


def send_alert(session: Session, config: dict[str, Any], transfer: Transfer, event: str) -> int:
    """Email the alert; return how many addresses it went to (0 if no SMTP is set up)."""
    if event not in SUBJECTS:
        raise ValueError(f"unknown alert {event!r}")
    school = session.get(School, transfer.school_id)
    to = recipients(session, school, event)
    if not to or not config.get("SMTP_HOST"):
        log.info(
            "alert not emailed",
            extra={"alert": event, "transfer_id": transfer.id, "addresses": len(to)},
        )
        return 0
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
        smtp.send_message(compose(transfer, event, config["SMTP_FROM"], to))
    log.info(
        "alert emailed", extra={"alert": event, "transfer_id": transfer.id, "addresses": len(to)}
    )
    return len(to)
