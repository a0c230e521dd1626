"""Retention emails: a shortening's notice to every DSL and DPO, a stopped purge to the DPO.

Counts only: never a name, a reference or a date of birth.
"""

from __future__ import annotations

import smtplib
from datetime import date
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exchange.auth.permissions import roles_for
from exchange.db import transaction, utcnow
from exchange.logs import get_logger
from exchange.records.models import School, User
from exchange.retention.change_words import describe_change
from exchange.retention.models import CHANGE_PENDING, RetentionRuleChange

log = get_logger(__name__)
FOOTER = (
    "\nSign in to the safeguarding exchange to see the details. This email deliberately "
    "holds no information that identifies a child.\n"
)


def addresses(session: Session, school_id: int, permission: str) -> list[str]:
    """Return the email addresses of the school's active users who hold a permission."""
    return sorted(
        session.scalars(
            select(User.email).where(
                User.school_id == school_id,
                User.is_active.is_(True),
                User.role.in_(sorted(roles_for(permission))),
            )
        )
    )


def send(config: dict[str, Any], to: list[str], subject: str, body: str) -> int:
    """Email one message; return how many addresses it went to (0 without a mail server)."""
    if not to or not config.get("SMTP_HOST"):
        log.info("retention email not sent", extra={"addresses": len(to)})
        return 0
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, config["SMTP_FROM"], ", ".join(to)
    message.set_content(body + FOOTER)
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
        smtp.send_message(message)
    return len(to)


def change_notice(school: School, row: RetentionRuleChange) -> tuple[str, str]:
    """Return the subject and text of a shortening's notice."""
    notice = dict(row.notice or {})
    what = describe_change(dict(row.change or {}))
    lines = [
        f"The DPO of {school.name} has shortened retention: {what}.",
        f"It takes effect on {row.effective_on.isoformat()} unless the DPO cancels it first "
        f"(change {row.id}).",
        "",
        "On that day these records become due for destruction because of this change:",
        f"  incidents: {notice.get('incidents', 0)}",
        f"  documents: {notice.get('documents', 0)}",
        f"  pupils: {notice.get('pupils', 0)}",
        f"  under a legal hold (kept): {notice.get('held', 0)}",
    ]
    for name, count in dict(notice.get("incidents_by_category") or {}).items():
        lines.append(f"  incidents in {name}: {count}")
    return "Retention at your school is being shortened", "\n".join(lines)


def send_change_notices(factory: sessionmaker[Session], config: dict[str, Any]) -> int:
    """Email each waiting change's notice not yet sent; return how many were sent."""
    sent = 0
    with factory() as session:
        rows = session.scalars(
            select(RetentionRuleChange).where(
                RetentionRuleChange.state == CHANGE_PENDING,
                RetentionRuleChange.notice_sent_at.is_(None),
            )
        ).all()
        work = [
            (
                row.id,
                addresses(session, row.school_id, "hear_retention_changes"),
                *change_notice(session.get(School, row.school_id), row),
            )
            for row in rows
        ]
    for change_id, to, subject, body in work:
        if send(config, to, subject, body):
            with transaction(factory) as session:
                session.get(RetentionRuleChange, change_id).notice_sent_at = utcnow()
            sent += 1
    return sent


def guard_alert(
    session: Session, config: dict[str, Any], school_id: int, as_of: date, counts: dict[str, int]
) -> int:
    """Tell the school's DPO that the volume guard stopped a purge; return addresses sent to."""
    school = session.get(School, school_id)
    body = (
        f"The purge of {school.name} on {as_of.isoformat()} stopped before destroying anything: "
        f"it would have destroyed {counts['would_destroy']} of the school's "
        f"{counts['records']} records, more than the {counts['percent']}% the service allows "
        "in one scheduled purge.\n\nCheck the due list and the rules. To go ahead, the DPO "
        "runs the purge by hand and confirms the volume (exchange purge --user-id ... "
        "--allow-large)."
    )
    to = addresses(session, school_id, "approve_disposal")
    return send(config, to, "A purge stopped: it would have destroyed too much", body)
