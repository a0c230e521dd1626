"""The pages: who may do what, school isolation, escaping, audited views, bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flow import post
from sar_kit import Setting, make_setting
from sqlalchemy import func, select
from transfer_kit import school_with_keys
from web_kit import make_app, sign_in

from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import User
from exchange.records.schools import add_user
from exchange.subject_access.models import SubjectAccessRequest

HOSTILE = '<script>alert("x")</script> Smith'


@pytest.fixture
def app(instance: Instance) -> Iterator[Flask]:
    yield from make_app(instance)


@pytest.fixture
def setting(instance: Instance) -> Setting:
    return make_setting(instance)


def _log(app: Flask, instance: Instance, setting: Setting, **form: str) -> int:
    client = app.test_client()
    sign_in(client, instance, setting.dsl_id)
    data = {
        "pupil_id": str(setting.pupil_id),
        "requester_name": HOSTILE,
        "relationship": "parent",
        "received_on": "2026-11-30",
        "identity_check": "Passport seen",
        "authority_check": "Birth certificate",
        "linked": "yes",
        **form,
    }
    post(client, "/subject-access/new", data)
    with instance.sessions() as session:
        return session.scalar(select(func.max(SubjectAccessRequest.id)))


def test_a_dsl_logs_a_request_and_the_page_escapes_and_audits(
    app: Flask, instance: Instance, setting: Setting
) -> None:
    request_id = _log(app, instance, setting)
    client = app.test_client()
    sign_in(client, instance, setting.dsl_id)
    page = client.get(f"/subject-access/{request_id}").get_data(as_text=True)
    assert "&lt;script&gt;" in page
    assert "<script>alert" not in page
    with instance.sessions() as session:
        viewed = session.scalar(select(func.count()).where(AuditEntry.event == "sar.viewed"))
    assert viewed >= 1


def test_roles_and_schools(app: Flask, instance: Instance, setting: Setting) -> None:
    request_id = _log(app, instance, setting)
    with transaction(instance.sessions) as session:
        other = school_with_keys(session, instance, 2, "holy_trinity")
        admin = add_user(session, other, "admin", "Admin 2", "admin2@example.org")
        school_one_admin = add_user(
            session, session.get(type(other), setting.school_id), "admin", "Admin", "a1@example.org"
        )
        other_dsl = session.scalar(
            select(User.id).where(User.school_id == other.id, User.role == "dsl")
        )
        admin_id, own_admin_id = admin.id, school_one_admin.id
    dpo = app.test_client()
    sign_in(dpo, instance, setting.dpo_id)
    assert dpo.get("/subject-access").status_code == 200
    assert dpo.get(f"/subject-access/{request_id}").status_code == 200
    post(dpo, f"/subject-access/{request_id}/redact", status=403)
    assert dpo.get(f"/subject-access/{request_id}/export").status_code == 200
    stranger = app.test_client()
    sign_in(stranger, instance, other_dsl)
    assert stranger.get(f"/subject-access/{request_id}").status_code == 404
    post(stranger, f"/subject-access/{request_id}/redact", status=404)
    for admin_user in (admin_id, own_admin_id):
        outsider = app.test_client()
        sign_in(outsider, instance, admin_user)
        assert outsider.get("/subject-access").status_code == 403
    dsl = app.test_client()
    sign_in(dsl, instance, setting.dsl_id)
    assert dsl.get(f"/subject-access/{request_id}/export").status_code == 403


def test_approval_asks_for_a_fresh_second_factor(
    app: Flask, instance: Instance, setting: Setting
) -> None:
    request_id = _log(app, instance, setting)
    dpo = app.test_client()
    sign_in(dpo, instance, setting.dpo_id, fresh=False)
    response = dpo.get(f"/subject-access/{request_id}/approve")
    assert response.status_code == 302
    assert "/confirm" in response.headers["Location"]


def test_a_refusal_is_shown_in_words_and_changes_nothing(
    app: Flask, instance: Instance, setting: Setting
) -> None:
    request_id = _log(app, instance, setting, identity_check="")
    dsl = app.test_client()
    sign_in(dsl, instance, setting.dsl_id)
    body = post(dsl, f"/subject-access/{request_id}/submit", status=400)
    assert "No identity check is recorded" in body
    with instance.sessions() as session:
        assert session.get(SubjectAccessRequest, request_id).state == "open"
        refused = session.scalar(
            select(func.count()).where(AuditEntry.event == "sar.submit_refused")
        )
    assert refused == 1


def test_a_requester_not_linked_is_refused_on_the_page(
    app: Flask, instance: Instance, setting: Setting
) -> None:
    request_id = _log(app, instance, setting, linked="no", relationship="carer")
    dsl = app.test_client()
    sign_in(dsl, instance, setting.dsl_id)
    page = dsl.get(f"/subject-access/{request_id}").get_data(as_text=True)
    assert "Refused" in page
    assert "parental responsibility" in page
