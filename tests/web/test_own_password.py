"""A signed-in user changes their own password: current password, new one, a fresh code."""

from __future__ import annotations

import time

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flow import csrf_token, post
from sqlalchemy import func, select
from web_kit import PASSWORD, ROLES, TOTP_SECRET, World, give_credentials, sign_in

from exchange.audit.models import AuditEntry
from exchange.auth.models import WebSession
from exchange.auth.passwords import verify_password
from exchange.instance import Instance
from exchange.records.models import User

NEW = "a different long passphrase"
PAGE = "/account/password"


def _form(code: str | None = None, **changes: str) -> dict[str, str]:
    return {
        "current_password": PASSWORD,
        "new_password": NEW,
        "confirm_password": NEW,
        "code": code or pyotp.TOTP(TOTP_SECRET).now(),
        **changes,
    }


def _signed_in(app: Flask, instance: Instance, user_id: int) -> FlaskClient:
    client = app.test_client()
    sign_in(client, instance, user_id)
    return client


def _alive(client: FlaskClient) -> bool:
    return client.get(PAGE).status_code == 200


def _hash(instance: Instance, user_id: int) -> str | None:
    with instance.sessions() as session:
        return session.get(User, user_id).password_hash


def test_a_change_keeps_this_browser_and_ends_every_other_session(
    app: Flask, instance: Instance, world: World
) -> None:
    user_id = world.user("sender", "dsl")
    give_credentials(instance, user_id)
    here, elsewhere = _signed_in(app, instance, user_id), _signed_in(app, instance, user_id)
    old_cookie = here.get_cookie("session").value
    post(here, PAGE, _form())
    assert "Your password has been changed" in here.get(PAGE).get_data(as_text=True)
    assert _alive(here)
    assert here.get_cookie("session").value != old_cookie  # A new session, a new id.
    assert not _alive(elsewhere)
    thief = app.test_client()
    thief.set_cookie("session", old_cookie)
    assert not _alive(thief)
    stored = _hash(instance, user_id)
    assert verify_password(stored, NEW)
    assert not verify_password(stored, PASSWORD)
    with instance.sessions() as session:
        open_rows = session.scalar(
            select(func.count())
            .select_from(WebSession)
            .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        )
        events = session.scalars(select(AuditEntry.event)).all()
    assert open_rows == 1
    assert "auth.password_changed" in events
    fresh = app.test_client()
    answer = fresh.post(
        "/login",
        data={"csrf_token": csrf_token(fresh), "email": "dsl1@example.org", "password": NEW},
    )
    assert answer.status_code == 302


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"current_password": "not my password at all"}, "current_password", "current password"),
        ({"confirm_password": "another long passphrase"}, "confirm_password", "same new password"),
        ({"new_password": "short", "confirm_password": "short"}, "new_password", "12 characters"),
        ({"new_password": PASSWORD, "confirm_password": PASSWORD}, "new_password", "not your"),
        ({"code": "000000"}, "code", "6-digit code"),
    ],
)
def test_bad_input_changes_nothing(
    app: Flask,
    instance: Instance,
    world: World,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    user_id = world.user("sender", "dpo")
    give_credentials(instance, user_id)
    here, elsewhere = _signed_in(app, instance, user_id), _signed_in(app, instance, user_id)
    before = _hash(instance, user_id)
    body = post(here, PAGE, _form(**changes), status=400)
    assert f'id="{field}-error"' in body
    assert message in body
    assert _hash(instance, user_id) == before
    assert _alive(here)
    assert _alive(elsewhere)


def test_a_code_already_used_is_refused(app: Flask, instance: Instance, world: World) -> None:
    user_id = world.user("sender", "admin")
    give_credentials(instance, user_id)
    client = _signed_in(app, instance, user_id)
    code = pyotp.TOTP(TOTP_SECRET).now()
    post(client, PAGE, _form(code))
    body = post(client, PAGE, _form(code, current_password=NEW, new_password=PASSWORD), status=400)
    assert "6-digit code" in body
    later = pyotp.TOTP(TOTP_SECRET).at(time.time() + 30)
    post(
        client,
        PAGE,
        _form(later, current_password=NEW, new_password=PASSWORD, confirm_password=PASSWORD),
    )
    assert verify_password(_hash(instance, user_id), PASSWORD)


def test_wrong_passwords_lock_the_account_and_sign_it_out(
    app: Flask, instance: Instance, world: World
) -> None:
    user_id = world.user("sender", "deputy_dsl")
    give_credentials(instance, user_id)
    client = _signed_in(app, instance, user_id)
    answers = [
        client.post(
            PAGE, data={"csrf_token": csrf_token(client), **_form(current_password="wrong one")}
        )
        for _ in range(5)
    ]
    assert answers[-1].status_code == 302
    assert "/login" in answers[-1].headers["Location"]
    assert not _alive(client)


def test_signed_out_visitors_are_sent_to_sign_in(app: Flask) -> None:
    answer = app.test_client().get(PAGE)
    assert answer.status_code == 302
    assert "/login" in answer.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_the_link_in_its_menu(
    app: Flask, instance: Instance, world: World, role: str
) -> None:
    client = _signed_in(app, instance, world.user("sender", role))
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert f'href="{PAGE}">Change password</a>' in page
