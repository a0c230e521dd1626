"""Give demo DSLs, DPOs and admins a password and a second factor, and say how to sign in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from exchange.auth.credentials import set_demo_credentials
from exchange.auth.totp import load_secret, new_secret
from exchange.db import transaction
from exchange.demo.generate import DemoData
from exchange.instance import Instance
from exchange.records.models import School, User

# A demo instance holds only generated people; its password is printed for the tester.
DEMO_PASSWORD = "demo-only-password-2026"  # noqa: S105
DEMO_ROLES = ("dsl", "dpo", "admin")


@dataclass(frozen=True)
class DemoLogin:
    """How one demo user signs in."""

    school_urn: str
    role: str
    email: str
    totp_secret: str


def demo_logins(instance: Instance, data: DemoData) -> list[DemoLogin]:
    """Set (once) and return the sign-in details of each demo school's DSL, DPO and admin."""
    logins = []
    with transaction(instance.sessions) as session:
        for demo_school in data.schools:
            school = session.scalar(select(School).where(School.urn == demo_school.urn))
            query = select(User).where(User.school_id == school.id, User.role.in_(DEMO_ROLES))
            for user in session.scalars(query.order_by(User.role)):
                secret = load_secret(user, instance.instance_key)
                if secret is None:
                    secret = new_secret()
                    set_demo_credentials(
                        session, user, DEMO_PASSWORD, secret, instance.instance_key
                    )
                logins.append(DemoLogin(school.urn, user.role, user.email, secret))
    return logins
