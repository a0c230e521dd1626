"""Server-side sessions: a copied cookie dies at sign-out; idle and absolute limits; every end."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flow import csrf_token, post
from sqlalchemy import select
from web_kit import PASSWORD, TOTP_SECRET, World, give_credentials, sign_in

from exchange.auth.credentials import set_password
from exchange.auth.models import WebSession
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import User


def _signed_in_by_hand(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    client.post(
        "/login", data={"csrf_token": csrf_token(client), "email": email, "password": PASSWORD}
    )
    code = pyotp.TOTP(TOTP_SECRET).now()
    answer = client.post("/login/code", data={"csrf_token": csrf_token(client), "code": code})
    assert answer.status_code == 302
    return client


def _replay(app: Flask, cookie: str) -> FlaskClient:
    """Return a new client holding a copy of another's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def _opens(client: FlaskClient, path: str) -> bool:
    return client.get(path).status_code == 200


def _move_back(instance: Instance, **shifts: timedelta) -> None:
    """Move every session's timestamps into the past, as if time had passed."""
    with transaction(instance.sessions) as session:
        for row in session.scalars(select(WebSession)):
            for column, shift in shifts.items():
                setattr(row, column, getattr(row, column) - shift)


def test_a_copied_cookie_is_refused_after_sign_out(
    app: Flask, instance: Instance, world: World
) -> None:
    give_credentials(instance, world.user("sender", "dsl"))
    client = _signed_in_by_hand(app, "dsl1@example.org")
    pupil = f"/pupils/{world.pupil_id}"
    assert _opens(client, pupil)
    cookie = client.get_cookie("session").value
    held = app.session_interface.get_signing_serializer(app).loads(cookie)  # type: ignore[attr-defined]
    assert set(held) <= {"sid", "csrf_token", "_permanent"}  # Nothing about the user.
    assert _opens(_replay(app, cookie), pupil)  # The copy works while the session lives.
    answer = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert answer.headers["Location"] == "/signed-out"
    assert "You have signed out" in client.get("/signed-out").get_data(as_text=True)
    replayed = _replay(app, cookie).get(pupil)
    assert replayed.status_code == 302
    assert replayed.headers["Location"].startswith("/login")
    with instance.sessions() as session:
        ended = session.scalars(select(WebSession.end_reason)).all()
    assert ended == ["signed_out"]


def test_signing_out_in_one_browser_ends_the_others(
    app: Flask, instance: Instance, world: World
) -> None:
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        sign_in(client, instance, world.user("sender", "dsl"))
    post(first, "/logout")
    assert not _opens(second, "/leavers")


@pytest.mark.parametrize(("minutes", "opens"), [(29, True), (31, False)])
def test_a_session_ends_after_30_idle_minutes(
    app: Flask, instance: Instance, world: World, minutes: int, opens: bool
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    _move_back(instance, last_seen_at=timedelta(minutes=minutes))
    assert _opens(client, "/leavers") is opens
    if not opens:
        page = client.get("/login").get_data(as_text=True)
        assert "had not used the service for a while" in page


@pytest.mark.parametrize(("minutes", "opens"), [(8 * 60 - 1, True), (8 * 60 + 1, False)])
def test_a_session_ends_8_hours_after_sign_in_however_busy(
    app: Flask, instance: Instance, world: World, minutes: int, opens: bool
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    _move_back(instance, created_at=timedelta(minutes=minutes))
    assert _opens(client, "/leavers") is opens


def test_the_idle_limit_is_a_setting(instance: Instance, world: World) -> None:
    from web_kit import make_app

    made = next(make_app(instance))
    made.config["SESSION_IDLE_SECONDS"] = 120
    client = made.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    _move_back(instance, last_seen_at=timedelta(minutes=3))
    assert not _opens(client, "/leavers")
    made.extensions["exchange"].close()


def test_a_password_change_ends_every_session(app: Flask, instance: Instance, world: World) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    with transaction(instance.sessions) as session:
        set_password(
            session, session.get(User, world.user("sender", "dsl")), "a new long passphrase"
        )
    assert not _opens(client, "/leavers")
    assert "your password was changed" in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("sign-out", "signed_out_everywhere"),
        ("reset-second-factor", "second_factor_reset"),
        ("deactivate", "deactivated"),
    ],
)
def test_an_admin_ends_every_session_of_a_user(
    app: Flask, instance: Instance, world: World, action: str, reason: str
) -> None:
    deputy_id = world.user("sender", "deputy_dsl")
    phone, laptop, admin = app.test_client(), app.test_client(), app.test_client()
    for client in (phone, laptop):
        sign_in(client, instance, deputy_id)
        assert _opens(client, "/leavers")
    sign_in(admin, instance, world.user("sender", "admin"))
    data = {"confirm": "yes"} if action == "deactivate" else {}
    post(admin, f"/admin/users/{deputy_id}/{action}", data, status=200)
    for client in (phone, laptop):
        assert not _opens(client, "/leavers")
    with instance.sessions() as session:
        reasons = session.scalars(
            select(WebSession.end_reason).where(WebSession.user_id == deputy_id)
        ).all()
    assert reasons == [reason, reason]


def test_a_sensitive_step_needs_the_second_factor_confirmed_in_the_last_5_minutes(
    app: Flask, instance: Instance, world: World
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "admin"))
    _move_back(instance, second_factor_at=timedelta(minutes=6))
    answer = client.post("/admin/keys/rotate", data={"csrf_token": csrf_token(client)})
    assert answer.headers["Location"].startswith("/confirm")
