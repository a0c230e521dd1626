"""Each school day: remind DSLs of files due in 5 and 3 school days or overdue; send digests."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.auth.mail import send_mail
from exchange.calendar.store import load
from exchange.logs import get_logger
from exchange.notifications.preferences import digest_user_ids
from exchange.notifications.worklist import DslWork, Leaver, dsl_work
from exchange.records.models import School, User
from exchange.transfers.notify import DSL_ROLES, link, tell

log = get_logger(__name__)
REMIND_AT = {5: "deadline_5", 3: "deadline_3"}
OVERDUE_EVERY = 5  # School days between two reminders of the same overdue file.
DIGEST_SUBJECT = "Safeguarding exchange: what waits for you today"


def reminder_for(row: Leaver) -> str | None:
    """Return the reminder a leaver's clock calls for today, if any."""
    left = row.clock.school_days_left
    if left in REMIND_AT:
        return REMIND_AT[left]
    if left < 0 and (-left - 1) % OVERDUE_EVERY == 0:
        return "overdue"
    return None


def _remind(session: Session, config: dict[str, Any], school: School, work: DslWork) -> int:
    sent = 0
    for row in work.leavers:
        event = reminder_for(row)
        if event is None:
            continue
        if row.transfer is not None:
            path, reference = f"/transfers/{row.transfer.id}", row.transfer.transfer_uid
        else:
            path, reference = "/start#due", "a leaver whose transfer has not started"
        sent += tell(session, config, school, event, path, reference)
    return sent


def digest_text(config: dict[str, Any], school: School, work: DslWork) -> str:
    """Return the digest: counts of what waits and a link, nothing about any child."""
    lines = [
        f"{len(work.offers)} offers waiting for an answer",
        f"{len(work.to_act_on)} transfers waiting for a step from you",
        f"{len(work.due_soon)} files due within 5 school days, {len(work.overdue)} overdue",
        f"{len(work.unacknowledged)} files arrived and not yet acknowledged",
    ]
    return (
        f"Today at {school.name}:\n\n"
        + "".join(f"  - {line}\n" for line in lines)
        + f"\nSign in to see them: {link(config, '/start')}\n\n"
        "This email deliberately holds no information about any child. You chose one email a "
        "day; choose an email for each event on your start page.\n"
    )


def _digest(session: Session, config: dict[str, Any], school: School, work: DslWork) -> int:
    chosen = digest_user_ids(school)
    if not chosen or not work.count():
        return 0
    to = sorted(
        session.scalars(
            select(User.email).where(
                User.school_id == school.id,
                User.id.in_(chosen),
                User.role.in_(DSL_ROLES),
                User.is_active.is_(True),
            )
        )
    )
    return send_mail(config, to, DIGEST_SUBJECT, digest_text(config, school, work))


def daily_notices(
    session: Session, config: dict[str, Any], school: School, today: date
) -> dict[str, int]:
    """Send the school's reminders and digests if today is a school day; return the counts."""
    if not load(school).is_school_day(today):
        return {"reminders": 0, "digests": 0}
    work = dsl_work(session, school, today)
    counts = {
        "reminders": _remind(session, config, school, work),
        "digests": _digest(session, config, school, work),
    }
    log.info("daily notices", extra={"school_id": school.id, **counts})
    return counts
