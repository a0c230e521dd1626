"""The DPO's start page lists requests overdue or nearly due; the menu links to the register."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from flask import Flask
from sar_kit import Setting, actor, make_setting, school
from web_kit import make_app, sign_in

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Pupil
from exchange.records.schools import add_user
from exchange.subject_access import register, service
from exchange.subject_access.clock import due_date


@pytest.fixture
def app(instance: Instance) -> Iterator[Flask]:
    yield from make_app(instance)


@pytest.fixture
def setting(instance: Instance) -> Setting:
    return make_setting(instance)


def _received_for(days_left: int) -> date:
    """Return a receipt date whose due date is days_left days away (working-day shifts allowed)."""
    received = date.today() - timedelta(days=40)
    while (due_date(received) - date.today()).days < days_left:
        received += timedelta(days=1)
    return received


def _log(instance: Instance, setting: Setting, received_on: date) -> str:
    with transaction(instance.sessions) as session:
        request = service.log_request(
            session,
            school(session, setting),
            actor(session, setting.dsl_id),
            session.get(Pupil, setting.pupil_id),
            requester_name="Maisie Thornbury",
            relationship="self",
            received_on=received_on,
            identity_check="Known to staff",
            today=date.today(),
        )
        return request.request_uid[:8]


def test_overdue_and_nearly_due_requests_are_on_the_dpos_start_page(
    app: Flask, instance: Instance, setting: Setting
) -> None:
    overdue = _log(instance, setting, date.today() - timedelta(days=70))
    soon_on = _received_for(3)
    soon = _log(instance, setting, soon_on)
    soon_listed = (due_date(soon_on) - date.today()).days <= register.START_PAGE_DAYS
    later = _log(instance, setting, date.today() - timedelta(days=2))
    with instance.sessions() as session:
        rows = register.due_soon(session, setting.school_id, date.today())
        uids = [row.request.request_uid[:8] for row in rows]
        days = [row.days_left for row in rows]
    assert overdue in uids
    assert later not in uids
    assert all(d <= register.START_PAGE_DAYS for d in days)
    client = app.test_client()
    sign_in(client, instance, setting.dpo_id)
    page = client.get("/start").get_data(as_text=True)
    assert "Subject access requests overdue or due in the next 5 days" in page
    assert overdue in page
    assert "Overdue by" in page
    assert later not in page
    assert (soon in uids) is soon_listed
    assert (soon in page) is soon_listed
    assert 'href="/subject-access"' in page


def test_the_start_page_says_when_nothing_is_due(
    app: Flask, instance: Instance, setting: Setting
) -> None:
    _log(instance, setting, date.today() - timedelta(days=1))
    client = app.test_client()
    sign_in(client, instance, setting.dpo_id)
    page = client.get("/start").get_data(as_text=True)
    assert "No subject access request is overdue or due in the next 5 days." in page


def test_a_request_due_in_five_days_is_listed_and_six_is_not(
    instance: Instance, setting: Setting
) -> None:
    uid = _log(instance, setting, date(2026, 11, 2))
    due = due_date(date(2026, 11, 2))
    with instance.sessions() as session:
        on_edge = register.due_soon(session, setting.school_id, due - timedelta(days=5))
        before = register.due_soon(session, setting.school_id, due - timedelta(days=6))
    assert [row.request.request_uid[:8] for row in on_edge] == [uid]
    assert before == []


def test_the_menu_links_to_the_register_only_for_those_who_may_see_it(
    app: Flask, instance: Instance, setting: Setting
) -> None:
    with transaction(instance.sessions) as session:
        admin_id = add_user(
            session, school(session, setting), "admin", "Admin", "a1@example.org"
        ).id
    for user_id, shown in ((setting.dsl_id, True), (setting.dpo_id, True), (admin_id, False)):
        client = app.test_client()
        sign_in(client, instance, user_id)
        page = client.get("/", follow_redirects=True).get_data(as_text=True)
        link = '<li><a href="/subject-access">Subject access</a></li>'
        assert (link in page) is shown, user_id
