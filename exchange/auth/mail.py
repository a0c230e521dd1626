"""Email about accounts: invitations to the invitee, notices to the school's DSLs and DPOs."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.auth.permissions import roles_for
from exchange.logs import get_logger
from exchange.records.models import User

log = get_logger(__name__)


def send_mail(config: dict[str, Any], to: list[str], subject: str, body: str) -> int:
    """Email one message; return how many addresses it went to (0 if no SMTP is set up)."""
    if not to or not config.get("SMTP_HOST"):
        log.info("account email not sent", extra={"subject": subject, "addresses": len(to)})
        return 0
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, config["SMTP_FROM"], ", ".join(to)
    message.set_content(body)
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("account email failed", extra={"subject": subject, "error": type(exc).__name__})
        return 0
    log.info("account email sent", extra={"subject": subject, "addresses": len(to)})
    return len(to)


def watchers(session: Session, school_id: int) -> list[str]:
    """Return the addresses of the school's active users told of powerful accounts."""
    roles = roles_for("hear_account_changes")
    query = select(User.email).where(
        User.school_id == school_id, User.role.in_(roles), User.is_active.is_(True)
    )
    return sorted(set(session.scalars(query)))


def tell_watchers(
    session: Session, config: dict[str, Any], school_id: int, subject: str, what: str
) -> int:
    """Email every DSL, deputy and DPO of the school that something happened to an account."""
    body = (
        f"{what}\n\n"
        f"Sign in to the safeguarding exchange to see the details: {config['PUBLIC_URL']}\n\n"
        "If you did not expect this, tell your headteacher and the DPO at once: someone may "
        "be using an administrator's account.\n"
    )
    return send_mail(config, watchers(session, school_id), subject, body)


def send_invitation(config: dict[str, Any], user: User, token: str, hours: int) -> int:
    """Email the invitee their link to choose a password; nobody else ever sees it."""
    link = f"{config['PUBLIC_URL'].rstrip('/')}/invite/{token}"
    body = (
        f"Hello {user.name},\n\n"
        "You have been given an account on the safeguarding exchange. Choose your password "
        f"with this link within {hours} hours:\n\n  {link}\n\n"
        "Then sign in and set up an authenticator app for your second factor.\n\n"
        "If you did not expect this email, do not use the link: tell your school's DSL.\n"
    )
    return send_mail(config, [user.email], "Your safeguarding exchange account", body)
