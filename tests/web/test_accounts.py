"""Accounts: a second factor for admins, the two-person rule, emailed invitations, deactivation."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from flow import csrf_token, post
from sqlalchemy import select
from web_kit import PASSWORD, World, inline_task_runner, sign_in, web_settings

from exchange.auth.models import AccountApproval, Invitation
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import School, User
from exchange.records.schools import add_user
from exchange.web import create_app

LINK = re.compile(r"(/invite/[A-Za-z0-9_-]+)")


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str, str]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802, ARG002
        message = message_from_bytes(envelope.content)
        body = message.get_payload(decode=True).decode()
        self.messages.append((sorted(envelope.rcpt_tos), message["Subject"], body))
        return "250 OK"

    def to(self, address: str) -> list[str]:
        """Return the bodies of the messages sent to an address."""
        return [body for rcpt, _subject, body in self.messages if address in rcpt]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """Run a real SMTP server on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def mailing_app(instance: Instance, inbox: tuple[Inbox, int]) -> Iterator[Flask]:
    """Return the web app sending its email to the test SMTP server."""
    made = create_app(web_settings(instance, SMTP_HOST="127.0.0.1", SMTP_PORT=inbox[1]))
    made.extensions["task_runner"] = inline_task_runner(made, instance)
    yield made
    made.extensions["exchange"].close()


def _client(app: Flask, instance: Instance, user_id: int, *, fresh: bool = True) -> FlaskClient:
    client = app.test_client()
    sign_in(client, instance, user_id, fresh=fresh)
    return client


def _add(admin: FlaskClient, role: str, email: str = "new@example.org", status: int = 200) -> str:
    return post(admin, "/admin/users", {"name": "New Person", "email": email, "role": role}, status)


def _approval_id(instance: Instance) -> int:
    with instance.sessions() as session:
        return session.scalar(select(AccountApproval.id).order_by(AccountApproval.id.desc()))


def _user_by_email(instance: Instance, email: str) -> User | None:
    with instance.sessions() as session:
        return session.scalar(select(User).where(User.email == email))


def test_an_admin_now_needs_a_second_factor_to_sign_in(
    app: Flask, instance: Instance, world: World
) -> None:
    from exchange.auth.credentials import set_password

    with transaction(instance.sessions) as session:
        set_password(session, session.get(User, world.user("sender", "admin")), PASSWORD)
    client = app.test_client()
    answer = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(client),
            "email": "admin1@example.org",
            "password": PASSWORD,
        },
    )
    assert answer.headers["Location"] == "/login/enrol"
    assert client.get("/admin/users").status_code == 302


def test_a_new_deputy_waits_for_a_dsl_who_approves_then_the_invitation_is_emailed(
    mailing_app: Flask, instance: Instance, world: World, inbox: tuple[Inbox, int]
) -> None:
    mail, _port = inbox
    admin = _client(mailing_app, instance, world.user("sender", "admin"))
    page = _add(admin, "deputy_dsl")
    assert "once the DSL approves" in page
    assert "/invite/" not in page
    assert _user_by_email(instance, "new@example.org") is None  # No account yet.
    [(told, subject, body)] = mail.messages
    assert told == ["ddsl1@example.org", "dpo1@example.org", "dsl1@example.org"]
    assert "waiting for approval" in subject
    assert "/invite/" not in body
    assert "Maisie" not in body

    dsl = _client(mailing_app, instance, world.user("sender", "dsl"))
    assert "New Person" in dsl.get("/approvals").get_data(as_text=True)
    done = post(dsl, f"/approvals/{_approval_id(instance)}", {"decision": "approve"}, 200)
    assert "/invite/" not in done
    person = _user_by_email(instance, "new@example.org")
    assert person is not None
    assert person.role == "deputy_dsl"
    [invitation] = [body for body in mail.to("new@example.org") if "/invite/" in body]
    link = LINK.search(invitation).group(1)
    assert all(link not in body for rcpt, _s, body in mail.messages if rcpt != [person.email])
    invitee = mailing_app.test_client()
    assert invitee.get(link).status_code == 200
    data = {"password": PASSWORD, "confirm_password": PASSWORD}
    assert post(invitee, link, data, status=200)
    assert invitee.get(link).status_code == 404  # Used once.


def test_approval_needs_a_fresh_second_factor(app: Flask, instance: Instance, world: World) -> None:
    admin = _client(app, instance, world.user("sender", "admin"))
    _add(admin, "dsl")
    dsl = _client(app, instance, world.user("sender", "dsl"), fresh=False)
    assert dsl.get("/approvals").headers["Location"].startswith("/confirm")
    answer = dsl.post(
        f"/approvals/{_approval_id(instance)}",
        data={"csrf_token": csrf_token(dsl), "decision": "approve"},
    )
    assert answer.headers["Location"].startswith("/confirm")
    assert _user_by_email(instance, "new@example.org") is None


@pytest.mark.parametrize(
    ("role", "decider", "allowed"),
    [
        ("dsl", "admin", False),
        ("dsl", "deputy_dsl", False),
        ("dsl", "dpo", False),
        ("deputy_dsl", "dpo", False),
        ("dpo", "dpo", True),
        ("dpo", "dsl", True),
    ],
)
def test_only_a_dsl_or_for_a_dpo_account_a_dpo_may_approve(
    app: Flask, instance: Instance, world: World, role: str, decider: str, allowed: bool
) -> None:
    admin = _client(app, instance, world.user("sender", "admin"))
    _add(admin, role)
    client = _client(app, instance, world.user("sender", decider))
    answer = client.post(
        f"/approvals/{_approval_id(instance)}",
        data={"csrf_token": csrf_token(client), "decision": "approve"},
    )
    assert answer.status_code == (200 if allowed else 400 if decider == "dpo" else 403)
    if decider == "dpo" and not allowed:
        assert "Only the DSL can approve a DSL or deputy DSL account" in answer.get_data(
            as_text=True
        )
    assert (_user_by_email(instance, "new@example.org") is not None) is allowed


def test_a_refused_request_creates_nothing(app: Flask, instance: Instance, world: World) -> None:
    admin = _client(app, instance, world.user("sender", "admin"))
    _add(admin, "dsl")
    dsl = _client(app, instance, world.user("sender", "dsl"))
    assert "You refused" in post(
        dsl, f"/approvals/{_approval_id(instance)}", {"decision": "refuse"}, 200
    )
    assert _user_by_email(instance, "new@example.org") is None


def test_an_admin_adds_an_admin_at_once_and_the_link_goes_only_by_email(
    mailing_app: Flask, instance: Instance, world: World, inbox: tuple[Inbox, int]
) -> None:
    mail, _port = inbox
    admin = _client(mailing_app, instance, world.user("sender", "admin"))
    page = _add(admin, "admin")
    assert "emailed to new@example.org" in page
    assert "/invite/" not in page
    [body] = mail.to("new@example.org")
    assert "within 24 hours" in body


def test_giving_a_user_the_dsl_role_needs_approval(
    app: Flask, instance: Instance, world: World
) -> None:
    admin = _client(app, instance, world.user("sender", "admin"))
    with transaction(instance.sessions) as session:
        school = session.get(School, world.sender_id)
        helper_id = add_user(session, school, "admin", "IT Helper", "it@example.org").id
    post(admin, f"/admin/users/{helper_id}/role", {"role": "dsl"}, status=200)
    with instance.sessions() as session:
        assert session.get(User, helper_id).role == "admin"
    dsl = _client(app, instance, world.user("sender", "dsl"))
    post(dsl, f"/approvals/{_approval_id(instance)}", {"decision": "approve"}, 200)
    with instance.sessions() as session:
        assert session.get(User, helper_id).role == "dsl"


def test_a_form_with_a_mistake_keeps_what_was_typed(
    app: Flask, instance: Instance, world: World
) -> None:
    admin = _client(app, instance, world.user("sender", "admin"))
    page = post(
        admin, "/admin/users", {"name": "Kept Name", "email": "not-an-email", "role": "dsl"}, 400
    )
    assert 'value="Kept Name"' in page
    assert 'value="not-an-email"' in page
    assert 'id="email-error"' in page
    assert "correct format" in page


def test_the_last_dsl_cannot_be_deactivated(app: Flask, instance: Instance, world: World) -> None:
    admin = _client(app, instance, world.user("sender", "admin"))
    dsl_id = world.user("sender", "dsl")
    page = post(admin, f"/admin/users/{dsl_id}/deactivate", {"confirm": "yes"}, status=400)
    assert "the school&#39;s only DSL" in page
    with instance.sessions() as session:
        assert session.get(User, dsl_id).is_active
    page = post(
        admin, f"/admin/users/{world.user('sender', 'dpo')}/deactivate", {"confirm": "yes"}, 400
    )
    assert "the school&#39;s only DPO" in page


def test_deactivation_asks_for_confirmation_and_reactivation_undoes_it(
    app: Flask, instance: Instance, world: World
) -> None:
    admin = _client(app, instance, world.user("sender", "admin"))
    deputy_id = world.user("sender", "deputy_dsl")
    assert "Deactivate Deputy 1?" in admin.get(f"/admin/users/{deputy_id}/deactivate").get_data(
        as_text=True
    )
    page = post(admin, f"/admin/users/{deputy_id}/deactivate", {}, status=400)
    assert "Tick the box" in page
    post(admin, f"/admin/users/{deputy_id}/deactivate", {"confirm": "yes"}, status=200)
    with instance.sessions() as session:
        assert not session.get(User, deputy_id).is_active
    page = post(admin, f"/admin/users/{deputy_id}/reactivate", status=200)
    assert "will be reactivated once the DSL approves" in page
    with instance.sessions() as session:
        assert not session.get(User, deputy_id).is_active  # A deputy DSL needs a second person.
    dsl = _client(app, instance, world.user("sender", "dsl"))
    post(dsl, f"/approvals/{_approval_id(instance)}", {"decision": "approve"}, 200)
    with instance.sessions() as session:
        assert session.get(User, deputy_id).is_active


@pytest.mark.parametrize(
    ("role", "decider", "allowed"),
    [
        ("dsl", "admin", False),
        ("dsl", "dpo", False),
        ("deputy_dsl", "dsl", True),
        ("dpo", "dsl", True),
        ("dpo", "dpo", True),
    ],
)
def test_reactivating_a_powerful_account_needs_the_same_approval_as_creating_one(
    mailing_app: Flask,
    instance: Instance,
    world: World,
    inbox: tuple[Inbox, int],
    role: str,
    decider: str,
    allowed: bool,
) -> None:
    mail, _port = inbox
    with transaction(instance.sessions) as session:
        school = session.get(School, world.sender_id)
        extra = add_user(session, school, role, "Second Holder", f"second-{role}@example.org")
        extra_id = extra.id
    admin = _client(mailing_app, instance, world.user("sender", "admin"))
    post(admin, f"/admin/users/{extra_id}/deactivate", {"confirm": "yes"}, status=200)
    page = post(admin, f"/admin/users/{extra_id}/reactivate", status=200)
    assert "will be reactivated once" in page
    with instance.sessions() as session:
        assert not session.get(User, extra_id).is_active
    assert any("waiting to be reactivated" in subject for _r, subject, _b in mail.messages)
    again = post(admin, f"/admin/users/{extra_id}/reactivate", status=400)
    assert "already waiting for approval" in again
    approver = _client(mailing_app, instance, world.user("sender", decider))
    listed = approver.get("/approvals").get_data(as_text=True)
    if decider != "admin":
        assert "a deactivated account" in listed
    answer = approver.post(
        f"/approvals/{_approval_id(instance)}",
        data={"csrf_token": csrf_token(approver), "decision": "approve"},
    )
    assert answer.status_code == (200 if allowed else 400 if decider == "dpo" else 403)
    with instance.sessions() as session:
        assert session.get(User, extra_id).is_active is allowed
        assert session.get(User, extra_id).role == role


def test_a_refused_reactivation_leaves_the_account_deactivated(
    app: Flask, instance: Instance, world: World
) -> None:
    deputy_id = world.user("sender", "deputy_dsl")
    admin = _client(app, instance, world.user("sender", "admin"))
    post(admin, f"/admin/users/{deputy_id}/deactivate", {"confirm": "yes"}, status=200)
    post(admin, f"/admin/users/{deputy_id}/reactivate", status=200)
    dsl = _client(app, instance, world.user("sender", "dsl"))
    done = post(dsl, f"/approvals/{_approval_id(instance)}", {"decision": "refuse"}, 200)
    assert "stays deactivated" in done
    with instance.sessions() as session:
        assert not session.get(User, deputy_id).is_active


def test_an_admin_account_is_reactivated_at_once(
    app: Flask, instance: Instance, world: World
) -> None:
    with transaction(instance.sessions) as session:
        school = session.get(School, world.sender_id)
        helper_id = add_user(session, school, "admin", "IT Helper", "it@example.org").id
    admin = _client(app, instance, world.user("sender", "admin"))
    post(admin, f"/admin/users/{helper_id}/deactivate", {"confirm": "yes"}, status=200)
    page = post(admin, f"/admin/users/{helper_id}/reactivate", status=200)
    assert "can sign in again" in page
    with instance.sessions() as session:
        assert session.get(User, helper_id).is_active


def test_an_invitation_dies_on_deactivation_and_after_24_hours(
    mailing_app: Flask, instance: Instance, world: World, inbox: tuple[Inbox, int]
) -> None:
    mail, _port = inbox
    admin = _client(mailing_app, instance, world.user("sender", "admin"))
    _add(admin, "admin", "first@example.org")
    _add(admin, "admin", "second@example.org")
    first = LINK.search(mail.to("first@example.org")[0]).group(1)
    second = LINK.search(mail.to("second@example.org")[0]).group(1)
    first_id = _user_by_email(instance, "first@example.org").id
    post(admin, f"/admin/users/{first_id}/deactivate", {"confirm": "yes"}, status=200)
    post(admin, f"/admin/users/{first_id}/reactivate", status=200)
    visitor = mailing_app.test_client()
    assert visitor.get(first).status_code == 404  # Reactivation does not revive the old link.
    assert visitor.get(second).status_code == 200
    with transaction(instance.sessions) as session:
        for row in session.scalars(select(Invitation)):
            row.expires_at -= timedelta(hours=24, minutes=1)
    assert visitor.get(second).status_code == 404
    post(admin, f"/admin/users/{first_id}/invite", status=200)
    assert visitor.get(LINK.search(mail.to("first@example.org")[-1]).group(1)).status_code == 200


def test_the_cli_still_adds_the_first_dsl_of_a_new_school(
    instance: Instance, cli_env: dict[str, str]
) -> None:
    from click.testing import CliRunner

    from exchange.cli import main

    runner = CliRunner(env=cli_env)
    school = ["schools", "add", "--urn", "654321", "--laestab", "9994001", "--name", "New School"]
    assert runner.invoke(main, school).exit_code == 0
    user = ["users", "add", "--role", "dsl", "--name", "First", "--email", "first@new.org"]
    answer = runner.invoke(main, ["--school", "654321", *user])
    assert answer.exit_code == 0, answer.output
    assert "/invite/" in answer.output
    assert "valid 24 hours" in answer.output


def test_the_cli_tells_the_school_when_it_adds_another_dsl(
    instance: Instance, world: World, cli_env: dict[str, str], inbox: tuple[Inbox, int]
) -> None:
    from click.testing import CliRunner

    from exchange.cli import main

    mail, port = inbox
    env = {**cli_env, "EXCHANGE_SMTP_HOST": "127.0.0.1", "EXCHANGE_SMTP_PORT": str(port)}
    with instance.sessions() as session:
        urn = session.get(School, world.sender_id).urn
    user = ["users", "add", "--role", "dsl", "--name", "Second", "--email", "second@example.org"]
    answer = CliRunner(env=env).invoke(main, ["--school", urn, *user])
    assert answer.exit_code == 0, answer.output
    [(told, _subject, body)] = mail.messages
    assert "dsl1@example.org" in told
    assert "second@example.org" in body
