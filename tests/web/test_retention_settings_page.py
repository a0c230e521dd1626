"""The DPO's form for the floors and the SEN categories: the same rules as the command line."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from flow import csrf_token, post
from sqlalchemy import select
from test_accounts import Inbox, inbox, mailing_app  # noqa: F401
from transfer_kit import SUBJECT
from web_kit import World, sign_in

from exchange.audit.models import AuditEntry
from exchange.instance import Instance
from exchange.records.models import School
from exchange.retention.models import RetentionRuleChange
from exchange.retention.settings import retention_settings

FORM = {"floor_child_protection_years": "25", "floor_sen_years": "31", "sen_categories": "SEN"}


def _client(app: Flask, instance: Instance, user_id: int, *, fresh: bool = True) -> FlaskClient:
    client = app.test_client()
    sign_in(client, instance, user_id, fresh=fresh)
    return client


def _settings(instance: Instance, school_id: int) -> dict[str, object]:
    with instance.sessions() as session:
        return retention_settings(session.get(School, school_id))


def _events(instance: Instance, name: str) -> int:
    with instance.sessions() as session:
        return len(session.scalars(select(AuditEntry.id).where(AuditEntry.event == name)).all())


def test_the_dpo_raises_a_floor_at_once_from_the_retention_page(
    app: Flask, instance: Instance, world: World
) -> None:
    dpo = _client(app, instance, world.user("sender", "dpo"))
    retention = dpo.get("/retention").get_data(as_text=True)
    assert 'href="/retention/settings"' in retention
    page = dpo.get("/retention/settings").get_data(as_text=True)
    assert 'value="25"' in page
    assert 'value="31"' in page
    post(dpo, "/retention/settings", {**FORM, "floor_child_protection_years": "27"})
    assert _settings(instance, world.sender_id)["floor_child_protection_years"] == 27
    assert _events(instance, "retention.settings_changed") == 1
    assert "Saved" in dpo.get("/retention/settings?done=1").get_data(as_text=True)


def test_lowering_waits_and_every_dsl_and_dpo_is_emailed_the_forecast(
    mailing_app: Flask,  # noqa: F811
    instance: Instance,
    world: World,
    inbox: tuple[Inbox, int],  # noqa: F811
) -> None:
    dpo = _client(mailing_app, instance, world.user("sender", "dpo"))
    post(dpo, "/retention/settings", {**FORM, "floor_sen_years": "40"})
    post(dpo, "/retention/settings", {**FORM, "floor_sen_years": "33", "sen_categories": ""})
    assert _settings(instance, world.sender_id)["floor_sen_years"] == 40  # Not yet.
    assert _settings(instance, world.sender_id)["sen_categories"] == ["SEN"]
    with instance.sessions() as session:
        changes = session.scalars(select(RetentionRuleChange).order_by(RetentionRuleChange.id))
        waiting = [(c.state, c.change["key"]) for c in changes]
    assert waiting == [("pending", "floor_sen_years"), ("pending", "sen_categories")]
    page = dpo.get("/retention/settings").get_data(as_text=True)
    assert "the floor for SEN records to 33 years from birth" in page
    assert "the categories counted as SEN to none" in page
    handler = inbox[0]
    for address in ("dsl1@example.org", "dpo1@example.org", "ddsl1@example.org"):
        bodies = handler.to(address)
        assert len(bodies) == 2, address
        assert "incidents:" in bodies[0]
        assert all(name not in body for body in bodies for name in SUBJECT)
    assert not handler.to("admin1@example.org")
    assert not handler.to("dpo2@example.org")


def test_errors_are_shown_beside_each_field_with_the_input_kept(
    app: Flask, instance: Instance, world: World
) -> None:
    dpo = _client(app, instance, world.user("sender", "dpo"))
    body = post(
        dpo,
        "/retention/settings",
        {"floor_child_protection_years": "twenty", "floor_sen_years": "31", "sen_other": "A/B"},
        400,
    )
    assert 'id="floor_child_protection_years-error"' in body
    assert 'value="twenty"' in body
    assert 'id="sen_other-error"' in body
    assert 'value="A/B"' in body
    body = post(dpo, "/retention/settings", {**FORM, "floor_sen_years": "30"}, 400)
    assert "cannot be below 31 years" in body
    assert 'value="30"' in body
    assert _settings(instance, world.sender_id)["floor_sen_years"] == 31
    assert _events(instance, "retention.settings_below_floor_refused") == 1
    # One refused field keeps the whole form from being saved.
    post(dpo, "/retention/settings", {**FORM, "floor_child_protection_years": "30",
                                      "floor_sen_years": "12"}, 400)  # fmt: skip
    assert _settings(instance, world.sender_id)["floor_child_protection_years"] == 25


def test_other_roles_are_refused(app: Flask, instance: Instance, world: World) -> None:
    for role in ("dsl", "deputy_dsl", "admin"):
        client = _client(app, instance, world.user("sender", role))
        assert client.get("/retention/settings").status_code == 403, role
        response = client.post(
            "/retention/settings",
            data={**FORM, "floor_sen_years": "40", "csrf_token": csrf_token(client)},
        )
        assert response.status_code == 403, role
    assert _settings(instance, world.sender_id)["floor_sen_years"] == 31


def test_a_dpo_without_a_fresh_second_factor_is_asked_to_confirm(
    app: Flask, instance: Instance, world: World
) -> None:
    dpo = _client(app, instance, world.user("sender", "dpo"), fresh=False)
    response = dpo.post(
        "/retention/settings",
        data={**FORM, "floor_sen_years": "40", "csrf_token": csrf_token(dpo)},
    )
    assert response.status_code == 302
    assert "/confirm" in response.headers["Location"]
    assert _settings(instance, world.sender_id)["floor_sen_years"] == 31


def test_a_dpo_changes_only_their_own_school(app: Flask, instance: Instance, world: World) -> None:
    sender = _client(app, instance, world.user("sender", "dpo"))
    post(sender, "/retention/settings", {**FORM, "floor_sen_years": "40"})
    post(sender, "/retention/settings", {**FORM, "floor_sen_years": "35"})
    with instance.sessions() as session:
        change_id = session.scalars(select(RetentionRuleChange.id)).one()
    receiver = _client(app, instance, world.user("receiver", "dpo"))
    page = receiver.get("/retention/settings").get_data(as_text=True)
    assert 'value="31"' in page
    assert "35 years" not in page
    post(receiver, "/retention/settings", {**FORM, "floor_child_protection_years": "26"})
    cancel = receiver.post(
        f"/retention/changes/{change_id}/cancel", data={"csrf_token": csrf_token(receiver)}
    )
    assert cancel.status_code == 404
    assert _settings(instance, world.sender_id)["floor_child_protection_years"] == 25
    assert _settings(instance, world.sender_id)["floor_sen_years"] == 40
    assert _settings(instance, world.receiver_id)["floor_child_protection_years"] == 26
    assert _settings(instance, world.receiver_id)["floor_sen_years"] == 31
    with instance.sessions() as session:
        assert session.get(RetentionRuleChange, change_id).state == "pending"
