"""Hostile narratives are shown as text; the JSON API answers only to scoped, live tokens."""

from __future__ import annotations

from flask import Flask
from flow import post
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Incident
from exchange.web.api import build_spec

HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)">'


def test_a_hostile_narrative_is_shown_as_text(app: Flask, instance: Instance, world: World) -> None:
    with transaction(instance.sessions) as session:
        incident = session.scalar(select(Incident).where(Incident.pupil_id == world.pupil_id))
        incident.narrative = HOSTILE
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    response = client.get(f"/pupils/{world.pupil_id}")
    page = response.get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "<script" not in page
    assert "<img src=x" not in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def _token(app: Flask, instance: Instance, world: World, scopes: list[str]) -> str:
    import re

    admin = app.test_client()
    sign_in(admin, instance, world.user("sender", "admin"))
    page = admin.post(
        "/admin/api-tokens",
        data={"csrf_token": _csrf(admin), "name": "MIS", "scopes": scopes},
    ).get_data(as_text=True)
    return re.search(r'id="api-token">([^<]+)<', page).group(1)


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    from flow import csrf_token

    return csrf_token(client)


def test_the_api_lists_only_the_schools_transfers_for_a_scoped_token(
    app: Flask, instance: Instance, world: World
) -> None:
    dsl = app.test_client()
    sign_in(dsl, instance, world.user("sender", "dsl"))
    post(dsl, f"/transfers/new/{world.pupil_id}", {"partner_id": "1"})
    token = _token(app, instance, world, ["transfers:read"])
    client = app.test_client()
    assert client.get("/api/transfers").status_code == 401
    listed = client.get("/api/transfers", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    rows = listed.get_json()["transfers"]
    assert [row["state"] for row in rows] == ["draft"]
    assert "narrative" not in listed.get_data(as_text=True)
    uid = rows[0]["transfer_uid"]
    one = client.get(f"/api/transfers/{uid}", headers={"Authorization": f"Bearer {token}"})
    assert one.get_json()["pupil_upn"] == rows[0]["pupil_upn"]
    receipts = client.get("/api/receipts", headers={"Authorization": f"Bearer {token}"})
    assert receipts.status_code == 403
    admin = app.test_client()
    sign_in(admin, instance, world.user("sender", "admin"))
    post(admin, "/admin/api-tokens/1/revoke")
    revoked = client.get("/api/transfers", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401


def test_another_schools_token_cannot_read_our_transfer(
    app: Flask, instance: Instance, world: World
) -> None:
    dsl = app.test_client()
    sign_in(dsl, instance, world.user("sender", "dsl"))
    post(dsl, f"/transfers/new/{world.pupil_id}", {"partner_id": "1"})
    ours = _token(app, instance, world, ["transfers:read"])
    uid = (
        app.test_client()
        .get("/api/transfers", headers={"Authorization": f"Bearer {ours}"})
        .get_json()["transfers"][0]["transfer_uid"]
    )
    admin = app.test_client()
    sign_in(admin, instance, world.user("receiver", "admin"))
    import re

    from flow import csrf_token

    page = admin.post(
        "/admin/api-tokens",
        data={"csrf_token": csrf_token(admin), "name": "MIS", "scopes": ["transfers:read"]},
    ).get_data(as_text=True)
    theirs = re.search(r'id="api-token">([^<]+)<', page).group(1)
    answer = app.test_client().get(
        f"/api/transfers/{uid}", headers={"Authorization": f"Bearer {theirs}"}
    )
    assert answer.status_code == 404


def test_the_openapi_document_describes_every_api_route(app: Flask) -> None:
    document = app.test_client().get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/transfers",
        "/api/transfers/{transfer_uid}",
        "/api/transfers/{transfer_uid}/withdraw",
        "/api/receipts",
    }
    assert "Transfer" in document["components"]["schemas"]
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert routes == {
        "/api/transfers",
        "/api/transfers/<transfer_uid>",
        "/api/transfers/<transfer_uid>/withdraw",
        "/api/receipts",
        "/api/openapi.json",
    }
    assert build_spec().to_dict() == document
