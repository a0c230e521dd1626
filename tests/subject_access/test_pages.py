"""The pages: who may do what, school isolation, escaping, audited views, bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flow import post
from sar_kit import Setting, make_setting
from sqlalchemy import delete, func, select
from transfer_kit import school_with_keys
from web_kit import make_app, sign_in

from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import (
    Incident,
    IncidentAction,
    IncidentEdit,
    Pupil,
    PupilDataKey,
    User,
    VaultDocument,
    incident_categories,
    incident_linked_pupils,
)
from exchange.records.schools import add_user
from exchange.subject_access.models import SubjectAccessRequest
from exchange.vault.pupil_keys import destroy_pupil_key

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
    dpo = app.test_client()
    sign_in(dpo, instance, setting.dpo_id)
    index = dpo.get("/subject-access")
    assert index.status_code == 200
    with instance.sessions() as session:
        uid = session.scalar(
            select(SubjectAccessRequest.request_uid).where(SubjectAccessRequest.id == request_id)
        )
    assert uid[:8] in index.get_data(as_text=True)
    page = dpo.get(f"/subject-access/{request_id}").get_data(as_text=True)
    assert "Refused" in page
    assert "parental responsibility" in page


def test_a_request_whose_childs_file_was_destroyed(
    app: Flask, instance: Instance, setting: Setting
) -> None:
    request_id = _log(app, instance, setting)
    _destroy_file(instance, setting.pupil_id)
    dpo = app.test_client()
    sign_in(dpo, instance, setting.dpo_id)
    index = dpo.get("/subject-access")
    assert index.status_code == 200
    with instance.sessions() as session:
        uid = session.scalar(
            select(SubjectAccessRequest.request_uid).where(SubjectAccessRequest.id == request_id)
        )
    assert uid[:8] in index.get_data(as_text=True)
    page = dpo.get(f"/subject-access/{request_id}")
    assert page.status_code == 410
    assert "has been destroyed" in page.get_data(as_text=True)


def _destroy_file(instance: Instance, pupil_id: int) -> None:
    """Remove a child's whole file and key, as the purge does (rows, links, key)."""
    with transaction(instance.sessions) as session:
        destroy_pupil_key(session, session.get(Pupil, pupil_id))
        incidents = select(Incident.id).where(Incident.pupil_id == pupil_id)
        for table in (IncidentAction.__table__, IncidentEdit.__table__, incident_categories):
            session.execute(delete(table).where(table.c.incident_id.in_(incidents)))
        session.execute(
            delete(incident_linked_pupils).where(
                incident_linked_pupils.c.incident_id.in_(incidents)
                | (incident_linked_pupils.c.pupil_id == pupil_id)
            )
        )
        for model in (VaultDocument, Incident, PupilDataKey):
            session.execute(delete(model).where(model.pupil_id == pupil_id))
        session.execute(delete(Pupil).where(Pupil.id == pupil_id))
