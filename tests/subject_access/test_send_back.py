"""A response sent back tells the DSL what should change; the audit log keeps only its length."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flow import post
from sar_kit import Setting, actor, make_setting
from sqlalchemy import select
from test_service import _log, _prepare
from web_kit import make_app, sign_in

from exchange.audit.entry import parse_entry
from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.subject_access import service
from exchange.subject_access.models import SubjectAccessRequest

NOTE = (
    "Leave out the passage about the neighbour, Corin Ashdown-Vale, in the incident of "
    "2 October: the requester must not learn who reported it. " * 3
).strip()


@pytest.fixture
def app(instance: Instance) -> Iterator[Flask]:
    yield from make_app(instance)


@pytest.fixture
def setting(instance: Instance) -> Setting:
    return make_setting(instance)


def test_the_dsl_reads_what_should_change_and_the_audit_keeps_no_words(
    app: Flask, instance: Instance, setting: Setting
) -> None:
    request_id = _log(instance, setting)
    _prepare(instance, setting, request_id)
    assert len(NOTE) > 200  # Longer than an audit text: it used to fail the step.
    dpo = app.test_client()
    sign_in(dpo, instance, setting.dpo_id)
    post(dpo, f"/subject-access/{request_id}/send-back", {"note": NOTE})
    dsl = app.test_client()
    sign_in(dsl, instance, setting.dsl_id)
    page = dsl.get(f"/subject-access/{request_id}").get_data(as_text=True)
    assert "Sent back: what should change" in page
    assert "Corin Ashdown-Vale" in page
    with instance.sessions() as session:
        request = session.get(SubjectAccessRequest, request_id)
        assert (request.state, request.sent_back_note) == ("open", NOTE)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.event == "sar.send_back")).one()
        details = parse_entry(entry.canonical)["details"]
        assert details["characters_asked"] == len(NOTE)
        assert "Ashdown" not in entry.canonical.decode()


def test_an_empty_or_overlong_note_is_refused_and_changes_nothing(
    instance: Instance, setting: Setting
) -> None:
    request_id = _log(instance, setting)
    _prepare(instance, setting, request_id)
    for note, words in (("  ", "say what should change"), ("x" * 2001, "2,000 characters")):
        with transaction(instance.sessions) as session:
            request = session.get(SubjectAccessRequest, request_id)
            with pytest.raises(ValidationError, match=words):
                service.send_back(session, instance, request, actor(session, setting.dpo_id), note)
            session.rollback()
        with instance.sessions() as session:
            request = session.get(SubjectAccessRequest, request_id)
            assert (request.state, request.sent_back_note) == ("awaiting_approval", None)


def test_a_hostile_note_is_shown_as_text(app: Flask, instance: Instance, setting: Setting) -> None:
    request_id = _log(instance, setting)
    _prepare(instance, setting, request_id)
    dpo = app.test_client()
    sign_in(dpo, instance, setting.dpo_id)
    post(dpo, f"/subject-access/{request_id}/send-back", {"note": '<script>alert("x")</script>'})
    dsl = app.test_client()
    sign_in(dsl, instance, setting.dsl_id)
    page = dsl.get(f"/subject-access/{request_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert" in page
    assert '<script>alert("x")' not in page
