"""Alerts to a school's DSLs (and SENCO when a file arrives): by email, never with names in them.

An alert says what happened and links to the page; the child's name, date of birth and case
never leave the service by email. A user who chose the daily digest gets no single alerts:
one email a day counts what waits (exchange.notifications.digest).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.auth.mail import send_mail
from exchange.instance import Instance
from exchange.logs import get_logger
from exchange.notifications.preferences import digest_user_ids
from exchange.records.models import School, User
from exchange.transfers.models import Transfer
from exchange.transfers.pickup import PICKUP_EVENT, email_link
from exchange.transfers.settings import school_setting

log = get_logger(__name__)

SUBJECTS = {
    "offer_received": "A safeguarding file is offered to your school",
    "offer_accepted": "Your offer of a safeguarding file was accepted",
    "offer_rejected": "Your offer of a safeguarding file was rejected",
    "offer_expired": "An offer of a safeguarding file expired unanswered",
    "file_received": "A safeguarding file has arrived for a pupil joining your school",
    "receipt_countersigned": "The receipt for a safeguarding file is countersigned",
    "delivery_failed": "A safeguarding file could not be delivered",
    "offer_withdrawn": "An offer of a safeguarding file was withdrawn by the sending school",
    "recall_requested": "The sending school recalled a safeguarding file it sent you",
    "recall_confirmed": "The receiving school destroyed the safeguarding file you recalled",
    "destination_unknown": "A pupil has left with no known destination",
    "deadline_5": "A safeguarding file is due within 5 school days",
    "deadline_3": "A safeguarding file is due within 3 school days",
    "overdue": "A safeguarding file transfer is overdue",
}
DSL_ROLES = ("dsl", "deputy_dsl")
UNKNOWN_DESTINATION = "destination_unknown"


def recipients(session: Session, school: School, event: str) -> list[str]:
    """Return who is told at once: DSLs and deputies (not on the digest), the DSL mailbox, SENCO."""
    digest = digest_user_ids(school)
    users = session.execute(
        select(User.id, User.email).where(
            User.school_id == school.id, User.role.in_(DSL_ROLES), User.is_active.is_(True)
        )
    ).all()
    extra = [school_setting(school, "dsl_email")]
    if event == "file_received":
        extra.append(school_setting(school, "senco_email"))
    addresses = [email for user_id, email in users if user_id not in digest]
    return sorted({address for address in [*addresses, *extra] if address})


def link(config: dict[str, Any], path: str) -> str:
    """Return the address of a page of the service, for an email."""
    return f"{config['PUBLIC_URL'].rstrip('/')}{path}"


def body(config: dict[str, Any], school: School, event: str, path: str, reference: str) -> str:
    """Return an alert's text: what happened and a link, nothing about the child."""
    return (
        f"{SUBJECTS[event]}.\n\n"
        f"Sign in to see what to do next:\n\n  {link(config, path)}\n\n"
        f"Reference: {reference}\n\n"
        "This email deliberately holds no information about the child.\n\n"
        f"You get these emails as a DSL at {school.name}. To get one email a day instead, "
        f"choose the daily digest on your start page: {link(config, '/start')}\n"
    )


def tell(
    session: Session, config: dict[str, Any], school: School, event: str, path: str, reference: str
) -> int:
    """Email the school's DSLs that something happened; return how many addresses it reached."""
    if event not in SUBJECTS:
        raise ValueError(f"unknown alert {event!r}")
    to = recipients(session, school, event)
    sent = send_mail(config, to, SUBJECTS[event], body(config, school, event, path, reference))
    log.info(
        "alert emailed" if sent else "alert not emailed",
        extra={"alert": event, "school_id": school.id, "addresses": sent},
    )
    return sent


def send_alert(session: Session, config: dict[str, Any], transfer: Transfer, event: str) -> int:
    """Email the alert about a transfer; return how many addresses it went to (0 if no SMTP)."""
    school = session.get(School, transfer.school_id)
    assert school is not None
    return tell(session, config, school, event, f"/transfers/{transfer.id}", transfer.transfer_uid)


def send_for(session: Session, instance: Instance, transfer: Transfer, event: str) -> int:
    """Send a transfer event's email: an offline export's download link, else a DSL alert."""
    if event == PICKUP_EVENT:
        return email_link(session, instance.instance_key, instance.config, transfer)
    if event == UNKNOWN_DESTINATION:
        return tell_local_authority(session, instance.config, transfer)
    return send_alert(session, instance.config, transfer, event)


def tell_local_authority(session: Session, config: dict[str, Any], transfer: Transfer) -> int:
    """Tell the LA's CME officer (and the DSLs) that a pupil left with no known destination."""
    if transfer.partner.kind != "unknown":
        return 0
    school = session.get(School, transfer.school_id)
    assert school is not None
    address = school_setting(school, "la_cme_email")
    left = f"{transfer.leaving_date:%d %B %Y}" if transfer.leaving_date else "recently"
    sent = 0
    if address:
        sent = send_mail(
            config,
            [address],
            SUBJECTS[UNKNOWN_DESTINATION],
            f"{school.name} (URN {school.urn}) has a pupil who left {left} with no known "
            "destination. Under the statutory guidance on children missing education the "
            "school tells the local authority. The school's safeguarding lead will give you "
            "the child's details by your usual secure route.\n\n"
            f"School reference: {transfer.transfer_uid}\n\n"
            "This email deliberately holds no information about the child.\n",
        )
    log.info(
        "local authority told" if sent else "local authority not told",
        extra={"school_id": school.id, "configured": bool(address)},
    )
    return sent + send_alert(session, config, transfer, UNKNOWN_DESTINATION)
