"""In Chromium: the DSLs and the DPO land on their start pages, which axe-core finds clean."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from factories import incident as make_incident
from factories import pupil as make_pupil
from flask import Flask
from flow import complete, start_and_offer
from sqlalchemy import select
from test_browser import ARTIFACTS, _sign_in, browser, server  # noqa: F401 (fixtures)
from transfer_kit import OTHER_CHILD, SUBJECT
from web_kit import World, give_credentials, sign_in

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Pupil, School
from exchange.records.upn import make_upn

pytestmark = pytest.mark.browser
# The elements that reach past the right edge of the screen, to say what is too wide.
WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
    && !(e.parentElement && e.parentElement.closest('.table-scroll')))
  .slice(0, 5).map(e => e.tagName + '.' + e.className)"""


def _axe_clean(page) -> None:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _more_leavers(instance: Instance, school_id: int) -> None:
    with transaction(instance.sessions) as session:
        school = session.get(School, school_id)
        today = date.today()
        for serial, days in ((501, 2), (502, 30)):
            make_pupil(
                session,
                school,
                upn=make_upn(school.laestab, 24, serial),
                leaving_date=today + timedelta(days=days),
                year_group="6",
            )


def _dpo_work_waiting(instance: Instance, world: World) -> None:
    """Hold the other child's records, and add a former pupil whose record falls due soon."""
    from exchange.retention.actors import Actor
    from exchange.retention.holds import place_hold

    with transaction(instance.sessions) as session:
        school = session.get(School, world.sender_id)
        other = session.scalar(
            select(Pupil.id).where(Pupil.school_id == school.id, Pupil.id != world.pupil_id)
        )
        dpo = Actor(world.user("sender", "dpo"), "dpo")
        place_hold(
            session, school.id, "pupil", other, "Kept while a complaint is investigated", dpo
        )
        born = date.today().replace(year=date.today().year - 25) + timedelta(days=40)
        former = make_pupil(
            session, school, upn=make_upn(school.laestab, 1, 503), date_of_birth=born
        )
        make_incident(session, former)


def test_each_role_lands_on_a_start_page_that_says_what_waits(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    app: Flask,
    instance: Instance,
    world: World,
) -> None:
    for school, role in (("sender", "dsl"), ("receiver", "dsl"), ("sender", "dpo")):
        give_credentials(instance, world.user(school, role))
    _more_leavers(instance, world.sender_id)
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    offered = start_and_offer(client, instance, world.sender_id, world.receiver_id, world.pupil_id)

    sender = _sign_in(browser, server, "dsl1@example.org")
    assert sender.get_by_role("heading", name="What needs you today").is_visible()
    deadlines = sender.locator("#deadlines")
    # Offered but not delivered: the file has not reached the new school, and it is late.
    assert deadlines.get_by_text(f"{SUBJECT[0]} {SUBJECT[1]}").count() == 1
    assert deadlines.get_by_text("school days overdue").count() == 1
    assert deadlines.get_by_text("school days left").count() >= 1
    assert sender.get_by_text("Start the transfer").count() == 2
    assert sender.locator("nav .count").inner_text().startswith("1")
    _axe_clean(sender)
    _shot(sender, "start-dsl")

    receiver = _sign_in(browser, server, "dsl2@example.org")
    assert receiver.get_by_role("heading", name="What needs you today").is_visible()
    assert receiver.get_by_text("1 offers waiting for an answer").is_visible()
    _axe_clean(receiver)
    _shot(receiver, "start-dsl-receiving")
    receiver.get_by_role("link", name="Accept or reject").click()
    assert receiver.get_by_label("Accept the file").is_visible()

    receiving_client = app.test_client()
    sign_in(receiving_client, instance, world.user("receiver", "dsl"))
    complete(client, receiving_client, instance, world.receiver_id, offered)
    _dpo_work_waiting(instance, world)

    dpo = _sign_in(browser, server, "dpo1@example.org")
    assert dpo.get_by_role("heading", name="What needs the DPO today").is_visible()
    assert dpo.get_by_role("heading", name="Due in the next 90 days").is_visible()
    assert dpo.get_by_text("1 transfers hold a signed receipt").is_visible()
    assert dpo.get_by_text("Kept while a complaint is investigated").is_visible()
    assert dpo.locator("#due ~ .table-scroll").last.get_by_role("row").count() == 2
    content = dpo.content()
    for name in (*SUBJECT, *OTHER_CHILD):
        assert name not in content
    _axe_clean(dpo)
    _shot(dpo, "start-dpo")


def test_the_search_and_leavers_pages_are_axe_clean(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    instance: Instance,
    world: World,
) -> None:
    give_credentials(instance, world.user("sender", "dsl"))
    page = _sign_in(browser, server, "dsl1@example.org")
    for path in ("/transfers?q=zz&state=draft", "/leavers", f"/pupils?q={SUBJECT[1]}", "/calendar"):
        page.goto(f"{server}{path}")
        _axe_clean(page)
    page.set_viewport_size({"width": 390, "height": 800})
    for path in ("/start", "/leavers", "/transfers", "/calendar"):
        page.goto(f"{server}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate(WIDEST)
        assert width <= 390, (path, width, wide)
