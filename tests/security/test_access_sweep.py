"""Every route and method of the app's url_map x every role x own school, other school, anonymous.

Driven by `app.url_map`, so a new route cannot escape: no 500; anonymous is sent to sign in (or
gets 401/404; school-to-school routes need signed messages: 4xx); another school's ids answer
404 (or 403 where the role may not use the route at all); DPO and admin never see case content.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from flask import Flask
from flow import csrf_token
from sweep_kit import CASE_MARKS, prepare
from web_kit import ROLES, World, sign_in

from exchange.instance import Instance

# Routes anyone may open: sign-in, health, the API description and static files. Anything
# else, /metrics included (a bearer token, or 404 with none set), answers anonymous with
# sign-in, 401 or 404.
PUBLIC = {
    "home.start",
    "signin.login",
    "signin.second_factor",
    "signin.enrol",
    "signin.confirm",
    "signin.invitation",
    "signin.logout",
    "signin.signed_out",
    "health.healthz",
    "health.readyz",
    "static",
    "api.openapi",
}
# A health check says 503 when the worker or database is down; that is its job, not a crash.
HEALTH = {"health.healthz", "health.readyz"}
ID_PARAMS = {
    "transfer_id", "transfer_uid", "pupil_id", "user_id", "token_id", "hold_id", "approval_id",
    "change_id",
}  # fmt: skip
PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def _routes(app: Flask) -> list[tuple[str, str, str, list[str]]]:
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule, PARAM.findall(rule.rule)))
    return sorted(found, key=lambda r: (r[2], r[1]))


def _path(rule: str, values: dict[str, Any]) -> str:
    return PARAM.sub(lambda m: str(values[m.group(1)]), rule)


def _request(client: Any, method: str, path: str) -> tuple[int, str, bytes]:
    kwargs: dict[str, Any] = {}
    if method in ("POST", "PUT"):
        kwargs["data"] = {"csrf_token": csrf_token(client)}
    with client.open(path, method=method, **kwargs) as response:
        return response.status_code, response.headers.get("Location", ""), response.get_data()


def _texts(body: bytes) -> list[bytes]:
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return [body, *(archive.read(name) for name in archive.namelist())]
    return [body]


def test_every_route_every_role_every_school(app: Flask, instance: Instance, world: World) -> None:
    ids = prepare(app, instance, world)
    routes = _routes(app)
    assert len(routes) > 40, "the sweep must see the whole url_map"
    failures: list[tuple[Any, ...]] = []
    checked = 0
    for endpoint, method, rule, params in routes:
        own_path = _path(rule, ids["sender"])
        status, location, _ = _request(app.test_client(), method, own_path)
        checked += 1
        if status >= 500 and not (endpoint in HEALTH and status == 503):
            failures.append(("anonymous", method, own_path, status))
        elif endpoint.startswith("school_api."):
            if not (400 <= status < 500) and not (
                endpoint.endswith("checkpoint") and status == 200
            ):
                failures.append(("anonymous s2s", method, own_path, status))
        elif endpoint.startswith("api.") and endpoint not in PUBLIC:
            if status != 401:
                failures.append(("anonymous api", method, own_path, status))
        elif endpoint not in PUBLIC:
            to_login = status == 302 and "/login" in location
            if not (to_login or status in (401, 404)):
                failures.append(("anonymous", method, own_path, status, location))
        if endpoint.startswith(("school_api.", "api.", "static")) or endpoint in PUBLIC:
            continue  # Signed messages and tokens are swept by their own tests.
        for role in ROLES:
            for school, other in (("sender", "receiver"), ("receiver", "sender")):
                client = app.test_client()
                sign_in(client, instance, world.user(school, role))
                status, _, body = _request(client, method, _path(rule, ids[school]))
                checked += 1
                if status >= 500:
                    failures.append((role, school, method, rule, "own", status))
                if role in ("dpo", "admin"):
                    for text in _texts(body):
                        leaked = [m for m in CASE_MARKS if m.encode() in text]
                        if leaked:
                            failures.append((role, school, method, rule, "leaks", leaked))
                if not ID_PARAMS & set(params):
                    continue
                sign_in(client, instance, world.user(school, role))
                other_status, _, other_body = _request(client, method, _path(rule, ids[other]))
                checked += 1
                allowed = status not in (401, 403)
                if other_status >= 500 or (allowed and other_status != 404):
                    failures.append((role, school, method, rule, "other", other_status, status))
                elif other_status not in (403, 404):
                    failures.append((role, school, method, rule, "other", other_status))
                for text in _texts(other_body):
                    leaked = [m for m in CASE_MARKS if m.encode() in text]
                    if leaked:
                        failures.append((role, school, method, rule, "other leaks", leaked))
    assert failures == []
    assert checked > 300
