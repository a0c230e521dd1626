"""Helpers for the web tests: two schools with every role, an app and signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from transfer_kit import child_with_records, introduce, school_with_keys

from exchange.auth.credentials import set_demo_credentials
from exchange.auth.sessions import start_session
from exchange.db import transaction
from exchange.instance import Instance
from exchange.outbox.service import Sender
from exchange.records.models import School, User
from exchange.records.schools import add_user
from exchange.transfers.client import WsgiTransport
from exchange.transfers.effects import inline_sender
from exchange.web import create_app

PASSWORD = "correct horse battery staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
ROLES = ("dsl", "deputy_dsl", "dpo", "admin")


@dataclass
class World:
    """Two schools on one instance: every role at each, and a child leaving the first."""

    sender_id: int
    receiver_id: int
    users: dict[tuple[int, str], int]
    pupil_id: int

    def user(self, school: str, role: str) -> int:
        """Return the id of the user in this role at the sender or the receiver."""
        school_id = self.sender_id if school == "sender" else self.receiver_id
        return self.users[(school_id, role)]


def make_world(instance: Instance) -> World:
    """Two schools that trust each other, with a user in every role who can sign in."""
    url = instance.config["PUBLIC_URL"]
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        introduce(session, sender, receiver, url)
        introduce(session, receiver, sender, url)
        subject, _other = child_with_records(session, instance, sender)
        users: dict[tuple[int, str], int] = {}
        for school in (sender, receiver):
            number = 1 if school is sender else 2
            add_user(session, school, "deputy_dsl", f"Deputy {number}", f"ddsl{number}@example.org")
            add_user(session, school, "admin", f"Admin {number}", f"admin{number}@example.org")
            for user in session.scalars(select(User).where(User.school_id == school.id)):
                users[(school.id, user.role)] = user.id
        return World(sender.id, receiver.id, users, subject.id)


def give_credentials(instance: Instance, user_id: int, password: str = PASSWORD) -> None:
    """Give a user the test password and TOTP secret, enrolled."""
    with transaction(instance.sessions) as session:
        user = session.get(User, user_id)
        set_demo_credentials(session, user, password, TOTP_SECRET, instance.instance_key)


def inline_task_runner(app: Flask, instance: Instance) -> Sender:
    """Return a runner that does a queued task's work at once, through the app itself."""
    return inline_sender(instance, WsgiTransport(app))


def web_settings(instance: Instance, **extra: Any) -> dict[str, Any]:
    """Return the instance settings with plain-HTTP cookies and no rate limit, for tests."""
    return {
        **instance.config,
        "INSECURE_HTTP_COOKIES_FOR_TESTS": True,
        "RATELIMIT_ENABLED": False,
        **extra,
    }


def make_app(instance: Instance) -> Iterator[Flask]:
    """Return the web app, with queued tasks run inline."""
    made = create_app(web_settings(instance))
    made.extensions["task_runner"] = inline_task_runner(made, instance)
    yield made
    made.extensions["exchange"].close()


def sign_in(client: FlaskClient, instance: Instance, user_id: int, *, fresh: bool = True) -> str:
    """Sign the client in as this user, as after password and second factor; return its id."""
    with transaction(instance.sessions) as session:
        token = start_session(session, session.get(User, user_id), second_factor=fresh)
    with client.session_transaction() as state:
        state.clear()
        state["sid"] = token
    return token


def school_of(instance: Instance, school_id: int) -> School:
    """Return a school row, detached."""
    with instance.sessions() as session:
        return session.get(School, school_id)
