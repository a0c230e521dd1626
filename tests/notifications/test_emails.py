"""Alerts, reminders at 5 and 3 school days, overdue notices and the digest, by real SMTP."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from factories import pupil as make_pupil
from factories import school as make_school
from sqlalchemy import select

from exchange.calendar import store
from exchange.db import transaction
from exchange.instance import Instance
from exchange.notifications.daily import DIGEST_SUBJECT, daily_notices
from exchange.notifications.preferences import set_digest
from exchange.records.models import School, User
from exchange.records.schools import add_user
from exchange.transfers.notify import SUBJECTS, tell
from exchange.transfers.settings import update_settings

LEAVING = date(2027, 1, 13)  # A Wednesday in the spring term; due Wednesday 20 January.
NAMES = ("Araminta", "Quigley", "2016-05-17")


@pytest.fixture
def school_id(instance: Instance) -> int:
    """A school with two DSLs, a deputy, a DPO and a leaver with a generated name."""
    with transaction(instance.sessions) as session:
        school = make_school(session)
        add_user(session, school, "dsl", "Dee Ess", "dsl@example.org")
        add_user(session, school, "deputy_dsl", "Dep Uty", "deputy@example.org")
        add_user(session, school, "dpo", "Dee Po", "dpo@example.org")
        update_settings(school, dsl_email="safeguarding@example.org")
        make_pupil(
            session,
            school,
            forename=NAMES[0],
            surname=NAMES[1],
            date_of_birth=date.fromisoformat(NAMES[2]),
            leaving_date=LEAVING,
        )
        return school.id


def _config(instance: Instance, port: int) -> dict:
    return {**instance.config, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port}


def _assert_nothing_about_the_child(subject: str, text: str) -> None:
    for secret in NAMES:
        assert secret not in text
        assert secret not in subject


@pytest.mark.parametrize("event", sorted(SUBJECTS))
def test_every_alert_reaches_the_dsls_with_a_link_and_nothing_about_the_child(
    instance: Instance, school_id: int, smtp: tuple[Any, int], event: str
) -> None:
    inbox, port = smtp
    with transaction(instance.sessions) as session:
        school = session.get(School, school_id)
        assert tell(session, _config(instance, port), school, event, "/transfers/7", "ref-1") == 3
    [(to, message, text)] = inbox.parsed()
    assert to == ["deputy@example.org", "dsl@example.org", "safeguarding@example.org"]
    assert message["Subject"] == SUBJECTS[event]
    assert f"{instance.config['PUBLIC_URL'].rstrip('/')}/transfers/7" in text
    _assert_nothing_about_the_child(message["Subject"], text)


def _run_day(instance: Instance, port: int, school_id: int, today: date) -> dict[str, int]:
    with transaction(instance.sessions) as session:
        return daily_notices(
            session, _config(instance, port), session.get(School, school_id), today
        )


@pytest.mark.parametrize(
    ("today", "subject"),
    [
        (LEAVING, SUBJECTS["deadline_5"]),
        (date(2027, 1, 15), SUBJECTS["deadline_3"]),
        (date(2027, 1, 21), SUBJECTS["overdue"]),
        (date(2027, 1, 28), SUBJECTS["overdue"]),  # Five school days later, again.
    ],
)
def test_reminders_go_at_5_and_3_school_days_and_when_overdue(
    instance: Instance, school_id: int, smtp: tuple[Any, int], today: date, subject: str
) -> None:
    inbox, port = smtp
    assert _run_day(instance, port, school_id, today)["reminders"] == 3
    [(_to, message, text)] = inbox.parsed()
    assert message["Subject"] == subject
    assert "/start#due" in text
    _assert_nothing_about_the_child(message["Subject"], text)


@pytest.mark.parametrize(
    "today",
    [
        date(2027, 1, 14),  # 4 school days left.
        date(2027, 1, 16),  # A Saturday.
        date(2027, 1, 22),  # Overdue, but reminded yesterday.
        date(2026, 12, 23),  # The Christmas holiday: no school day, no email.
    ],
)
def test_no_reminder_on_other_days(
    instance: Instance, school_id: int, smtp: tuple[Any, int], today: date
) -> None:
    inbox, port = smtp
    assert _run_day(instance, port, school_id, today)["reminders"] == 0
    assert inbox.messages == []


def test_a_school_closure_moves_the_reminders(
    instance: Instance, school_id: int, smtp: tuple[Any, int]
) -> None:
    inbox, port = smtp
    with transaction(instance.sessions) as session:
        school = session.get(School, school_id)
        store.add_term(school, date(2027, 1, 4), date(2027, 2, 12))
        store.add_inset_day(school, date(2027, 1, 18))  # Now due Thursday 21 January.
    assert _run_day(instance, port, school_id, date(2027, 1, 21))["reminders"] == 0  # Due today.
    assert _run_day(instance, port, school_id, date(2027, 1, 22))["reminders"] == 3
    assert inbox.parsed()[0][1]["Subject"] == SUBJECTS["overdue"]


def test_a_dsl_on_the_digest_gets_one_email_a_day_instead(
    instance: Instance, school_id: int, smtp: tuple[Any, int]
) -> None:
    inbox, port = smtp
    with transaction(instance.sessions) as session:
        school = session.get(School, school_id)
        user_id = session.scalar(select(User.id).where(User.email == "dsl@example.org"))
        set_digest(school, user_id, wanted=True)
    counts = _run_day(instance, port, school_id, LEAVING)
    assert counts == {"reminders": 2, "digests": 1}
    by_subject = {message["Subject"]: (to, text) for to, message, text in inbox.parsed()}
    assert by_subject[SUBJECTS["deadline_5"]][0] == [
        "deputy@example.org",
        "safeguarding@example.org",
    ]
    to, text = by_subject[DIGEST_SUBJECT]
    assert to == ["dsl@example.org"]
    assert "1 files due within 5 school days, 0 overdue" in text
    assert "0 offers waiting for an answer" in text
    _assert_nothing_about_the_child(DIGEST_SUBJECT, text)


def test_no_smtp_server_set_up_sends_nothing_and_says_so(
    instance: Instance, school_id: int
) -> None:
    with transaction(instance.sessions) as session:
        school = session.get(School, school_id)
        assert (
            tell(session, {**instance.config, "SMTP_HOST": None}, school, "overdue", "/", "r") == 0
        )


def test_an_unknown_alert_is_a_programming_error(instance: Instance, school_id: int) -> None:
    with transaction(instance.sessions) as session:
        school = session.get(School, school_id)
        with pytest.raises(ValueError, match="unknown alert"):
            tell(session, instance.config, school, "child_named", "/", "r")
