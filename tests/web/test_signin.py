"""Sign-in: password then TOTP, enrolment, lock-out, CSRF and fresh confirmation."""

from __future__ import annotations

import re
import time

import pyotp
from flask import Flask
from flow import csrf_token, post
from web_kit import PASSWORD, TOTP_SECRET, World, give_credentials, sign_in

from exchange.instance import Instance


def _login(client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(
        "/login", data={"csrf_token": csrf_token(client), "email": email, "password": password}
    )


def test_a_dsl_signs_in_with_password_and_totp(
    app: Flask, instance: Instance, world: World
) -> None:
    give_credentials(instance, world.user("sender", "dsl"))
    client = app.test_client()
    assert client.get("/leavers").status_code == 302
    first = _login(client, "dsl1@example.org")
    assert first.headers["Location"] == "/login/code"
    assert client.get("/leavers").status_code == 302  # The password alone is not enough.
    code = pyotp.TOTP(TOTP_SECRET).now()
    done = client.post("/login/code", data={"csrf_token": csrf_token(client), "code": code})
    assert done.status_code == 302
    assert client.get("/leavers").status_code == 200
    post(client, "/logout")
    assert client.get("/leavers").status_code == 302


def test_a_totp_code_cannot_be_used_twice(app: Flask, instance: Instance, world: World) -> None:
    give_credentials(instance, world.user("sender", "dsl"))
    code = pyotp.TOTP(TOTP_SECRET).now()
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        _login(client, "dsl1@example.org")
    assert (
        first.post("/login/code", data={"csrf_token": csrf_token(first), "code": code}).status_code
        == 302
    )
    again = second.post("/login/code", data={"csrf_token": csrf_token(second), "code": code})
    assert again.status_code == 400


def test_a_new_dpo_enrols_and_gets_recovery_codes(
    app: Flask, instance: Instance, world: World
) -> None:
    from exchange.auth.credentials import set_password
    from exchange.db import transaction
    from exchange.records.models import User

    with transaction(instance.sessions) as session:
        set_password(session, session.get(User, world.user("sender", "dpo")), PASSWORD)
    client = app.test_client()
    assert _login(client, "dpo1@example.org").headers["Location"] == "/login/enrol"
    page = client.get("/login/enrol").get_data(as_text=True)
    assert "<svg" in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    done = client.post(
        "/login/enrol", data={"csrf_token": csrf_token(client), "code": pyotp.TOTP(secret).now()}
    )
    codes = re.findall(r"<code>([a-z0-9-]{14})</code>", done.get_data(as_text=True))
    assert len(codes) == 10
    assert client.get("/receipts").status_code == 200
    # A recovery code works once in place of the TOTP code.
    for expected in (302, 400):
        other = app.test_client()
        _login(other, "dpo1@example.org")
        answer = other.post("/login/code", data={"csrf_token": csrf_token(other), "code": codes[0]})
        assert answer.status_code == expected


def test_five_wrong_passwords_lock_the_account(
    app: Flask, instance: Instance, world: World
) -> None:
    give_credentials(instance, world.user("sender", "dsl"))
    client = app.test_client()
    for _ in range(5):
        assert _login(client, "dsl1@example.org", "wrong password!!").status_code == 400
    locked = _login(client, "dsl1@example.org")
    assert locked.status_code == 400
    assert "Too many attempts" in locked.get_data(as_text=True)


def test_sign_in_is_rate_limited(instance: Instance, world: World) -> None:
    from web_kit import web_settings

    from exchange.web import create_app

    limited = create_app(web_settings(instance, RATELIMIT_ENABLED=True))
    client = limited.test_client()
    statuses = [
        client.post(
            "/login",
            data={"csrf_token": csrf_token(client), "email": "x@example.org", "password": "p"},
        ).status_code
        for _ in range(22)
    ]
    assert statuses[-1] == 429
    limited.extensions["exchange"].close()


def test_a_form_without_its_csrf_token_is_refused(
    app: Flask, instance: Instance, world: World
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    refused = client.post(f"/transfers/new/{world.pupil_id}", data={"partner_id": "1"})
    assert refused.status_code == 400
    assert "The form could not be sent" in refused.get_data(as_text=True)


def test_authorising_needs_a_fresh_second_factor(
    app: Flask, instance: Instance, world: World
) -> None:
    give_credentials(instance, world.user("sender", "dsl"))
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"), fresh=False)
    answer = client.get("/transfers/1/authorise")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/confirm?next=/transfers/1/authorise")
    code = pyotp.TOTP(TOTP_SECRET).at(time.time() + 30)
    confirmed = client.post(
        "/confirm?next=/transfers/1/authorise",
        data={"csrf_token": csrf_token(client), "code": code},
    )
    assert confirmed.headers["Location"] == "/transfers/1/authorise"


def test_confirm_never_sends_the_user_to_another_site(
    app: Flask, instance: Instance, world: World
) -> None:
    give_credentials(instance, world.user("sender", "dsl"))
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"), fresh=False)
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        code = pyotp.TOTP(TOTP_SECRET).at(time.time() + 30 * (1 + ("//" in target)))
        answer = client.post(
            f"/confirm?next={target}", data={"csrf_token": csrf_token(client), "code": code}
        )
        if answer.status_code == 302:
            assert answer.headers["Location"] == "/"
