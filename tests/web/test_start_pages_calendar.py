"""A DSL enters and imports term dates on the web; the clock follows them."""

from __future__ import annotations

import io
import re
from datetime import date

from flask import Flask
from flow import csrf_token, post
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.audit.models import AuditEntry
from exchange.calendar import store
from exchange.instance import Instance
from exchange.records.models import School

CSV = (
    b"Type,Start,End,Description\r\n"
    b"Term,2026-09-03,2026-12-18,Autumn\r\n"
    b"Holiday,2026-10-26,2026-10-30,Half term\r\n"
    b"Term,2027-01-05,2027-03-26,Spring\r\n"
)


def test_a_dsl_imports_and_enters_term_dates(app: Flask, instance: Instance, world: World) -> None:
    dsl = app.test_client()
    sign_in(dsl, instance, world.user("sender", "deputy_dsl"))
    assert "Estimated" in dsl.get("/calendar").get_data(as_text=True)
    response = dsl.post(
        "/calendar",
        data={
            "csrf_token": csrf_token(dsl),
            "form": "import",
            "file": (io.BytesIO(CSV), "terms-2026-27.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    post(dsl, "/calendar", {"form": "inset", "inset": "2027-01-05"})
    post(dsl, "/calendar", {"form": "region", "region": "wales"})
    with instance.sessions() as session:
        calendar = store.load(session.get(School, world.sender_id))
        assert calendar.region == "wales"
        assert [t.start for t in calendar.terms] == [date(2026, 9, 3), date(2027, 1, 5)]
        assert calendar.inset_days == {date(2027, 1, 5)}
        events = session.scalars(
            select(AuditEntry.event).where(
                AuditEntry.school_id == world.sender_id, AuditEntry.event == "calendar.changed"
            )
        ).all()
        assert len(events) == 3
    refused = post(
        dsl, "/calendar", {"form": "term", "start": "2026-12-01", "end": "2027-02-01"}, 400
    )
    assert "overlaps" in refused
    assert 'value="2026-12-01"' in refused  # What was typed stays.
    assert 'href="#term-error"' in refused
    bad = post(dsl, "/calendar", {"form": "inset", "inset": "5 January"}, 400)
    assert "Enter the INSET day as a date" in bad
    wrong = dsl.post(
        "/calendar",
        data={"csrf_token": csrf_token(dsl), "form": "import", "file": (io.BytesIO(b"x"), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 400
    assert "or a CSV" in wrong.get_data(as_text=True)


def test_only_dsls_see_or_change_the_calendar(app: Flask, instance: Instance, world: World) -> None:
    for role in ("dpo", "admin"):
        client = app.test_client()
        sign_in(client, instance, world.user("sender", role))
        assert client.get("/calendar").status_code == 403
    other = app.test_client()
    sign_in(other, instance, world.user("receiver", "dsl"))
    post(other, "/calendar", {"form": "inset", "inset": "2027-01-05"})
    with instance.sessions() as session:
        assert store.load(session.get(School, world.sender_id)).inset_days == frozenset()
        assert store.load(session.get(School, world.receiver_id)).inset_days == {date(2027, 1, 5)}


def test_the_deadline_rule_keeps_the_capitals_of_its_dates(
    app: Flask, instance: Instance, world: World
) -> None:
    from exchange.db import transaction
    from exchange.records.models import Pupil

    with transaction(instance.sessions) as session:
        session.get(Pupil, world.pupil_id).leaving_date = date(2026, 12, 18)  # A term's last day.
    dsl = app.test_client()
    sign_in(dsl, instance, world.user("sender", "dsl"))
    for url in ("/leavers", "/start"):
        page = dsl.get(url).get_data(as_text=True)
        assert "Left at the end of a term" in page, url
        # Jinja's capitalize would give "monday 4 january 2027".
        assert re.search(r"the school reopens on [A-Z][a-z]+day \d+ [A-Z][a-z]+ \d{4}", page), url
