"""The app itself sends a Permissions-Policy on every answer, the same as the nginx example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from web_kit import World, sign_in

from exchange.instance import Instance

NGINX = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "exchange.conf"
FEATURES = ("accelerometer", "camera", "geolocation", "gyroscope", "microphone", "payment", "usb")


def _policy(value: str) -> dict[str, str]:
    return dict(item.strip().split("=", 1) for item in value.split(","))


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/login", 200),
        ("/", 302),
        ("/no-such-page", 404),
        ("/static/exchange.css", 200),
        ("/healthz", None),
        ("/metrics", None),
    ],
)
def test_every_answer_carries_the_policy(app: Flask, path: str, status: int | None) -> None:
    response = app.test_client().get(path)
    if status is not None:
        assert response.status_code == status
    policy = _policy(response.headers["Permissions-Policy"])
    for feature in FEATURES:
        assert policy[feature] == "()", feature
    response.close()


def test_signed_in_pages_and_refusals_carry_it_too(
    app: Flask, instance: Instance, world: World
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "admin"))
    for path, status in (("/admin/users", 200), (f"/pupils/{world.pupil_id}", 403)):
        response = client.get(path)
        assert response.status_code == status
        assert _policy(response.headers["Permissions-Policy"])["camera"] == "()"


def test_the_app_and_the_nginx_example_send_the_same_policy(app: Flask) -> None:
    from exchange.web import SECURITY_HEADERS

    proxy = re.search(r'add_header Permissions-Policy "([^"]+)" always;', NGINX.read_text())
    assert proxy is not None
    assert _policy(proxy.group(1)) == _policy(SECURITY_HEADERS["Permissions-Policy"])
