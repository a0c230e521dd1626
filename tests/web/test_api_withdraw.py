"""The API's one write: withdraw a transfer with a reason, scope checked, audited, documented."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flow import csrf_token, start_and_offer
from sqlalchemy import select
from web_kit import ROLES, World, sign_in

from exchange.audit.models import AuditEntry
from exchange.instance import Instance
from exchange.transfers import states
from exchange.transfers.models import Transfer


def _token(app: Flask, instance: Instance, world: World, school: str, scopes: list[str]) -> str:
    admin = app.test_client()
    sign_in(admin, instance, world.user(school, "admin"))
    page = admin.post(
        "/admin/api-tokens",
        data={"csrf_token": csrf_token(admin), "name": "MIS", "scopes": scopes},
    ).get_data(as_text=True)
    return re.search(r'id="api-token">([^<]+)<', page).group(1)


def _withdraw(client: FlaskClient, uid: str, token: str, body: object) -> tuple[int, dict]:
    response = client.post(
        f"/api/transfers/{uid}/withdraw",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, response.get_json()


def test_a_scoped_token_withdraws_a_transfer_with_a_reason(
    app: Flask, instance: Instance, world: World
) -> None:
    dsl = app.test_client()
    sign_in(dsl, instance, world.user("sender", "dsl"))
    transfer_id = start_and_offer(dsl, instance, world.sender_id, world.receiver_id, world.pupil_id)
    with instance.sessions() as session:
        uid = session.get(Transfer, transfer_id).transfer_uid
    reader = _token(app, instance, world, "sender", ["transfers:read"])
    writer = _token(app, instance, world, "sender", ["transfers:withdraw"])
    theirs = _token(app, instance, world, "receiver", ["transfers:withdraw"])
    client = app.test_client()

    anonymous = client.post(f"/api/transfers/{uid}/withdraw", json={"reason": "x"})
    assert anonymous.status_code == 401
    # A signed-in session is no API credential, whatever the role or school.
    for role in ROLES:
        for school in ("sender", "receiver"):
            session_client = app.test_client()
            sign_in(session_client, instance, world.user(school, role))
            answer = session_client.post(f"/api/transfers/{uid}/withdraw", json={"reason": "x"})
            assert answer.status_code == 401, (role, school)
    assert _withdraw(client, uid, reader, {"reason": "Moved"})[0] == 403
    # The receiving school holds the same id as an incoming transfer: not theirs to withdraw.
    assert _withdraw(client, uid, theirs, {"reason": "Moved"})[0] == 404
    status, body = _withdraw(client, uid, writer, {})
    assert status == 400
    assert body["error"] == "invalid_input"
    assert "reason" in body["message"]
    assert _withdraw(client, uid, writer, {"reason": ""})[0] == 400
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == states.OFFERED

    status, body = _withdraw(client, uid, writer, {"reason": "The family stayed."})
    assert status == 200
    assert body["state"] == states.WITHDRAWN
    assert body["transfer_uid"] == uid
    with instance.sessions() as session:
        events = {
            entry.event: json.loads(entry.canonical)
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.school_id == world.sender_id)
            )
        }
    assert events["api.transfer_withdrawn"]["actor"]["role"] == "api_token"
    assert "transfer.withdrawn" in events

    status, body = _withdraw(client, uid, writer, {"reason": "Again"})
    assert status == 409
    assert body["error"] == "transition_refused"


def test_the_openapi_document_is_a_valid_openapi_31_document(app: Flask) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    document = app.test_client().get("/api/openapi.json").get_json()
    validator.validate(document)
    withdraw = document["paths"]["/api/transfers/{transfer_uid}/withdraw"]["post"]
    assert withdraw["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Withdraw"
    }
    assert document["components"]["schemas"]["Withdraw"]["required"] == ["reason"]
