"""In Chromium on a 390 px phone: every main page of every role fits the screen and is axe clean;
the forms changed for issue 18 keep what was typed, and an error summary takes the focus."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from flow import complete, incoming_id, start_and_offer
from playwright.sync_api import expect
from test_browser import _sign_in, browser, server  # noqa: F401 (fixtures)
from test_start_pages_browser import WIDEST
from web_kit import World, give_credentials, sign_in

from exchange.instance import Instance

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
ROLES = (
    ("sender", "dsl", "dsl1@example.org"),
    ("receiver", "dsl", "dsl2@example.org"),
    ("sender", "deputy_dsl", "ddsl1@example.org"),
    ("sender", "dpo", "dpo1@example.org"),
    ("sender", "admin", "admin1@example.org"),
)


def _axe_clean(page) -> None:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    assert results.violations_count == 0, (page.url, results.generate_report())


def _fits(page, where: str) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (where, width, page.evaluate(WIDEST))


def _summary_has_focus(page) -> None:  # type: ignore[no-untyped-def]
    """Wait for the autofocus to land on the error summary (it fails after 5 seconds if not).

    Playwright's own assertion, not a string evaluated in the page: the pages' CSP forbids eval.
    """
    expect(page.locator(".error-summary")).to_be_focused(timeout=5000)


def _main_pages(page) -> list[str]:  # type: ignore[no-untyped-def]
    links = page.locator("nav[aria-label='Main'] a")
    return [links.nth(i).get_attribute("href") for i in range(links.count())]


def test_every_main_page_of_every_role_fits_a_phone(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    app: Flask,
    instance: Instance,
    world: World,
) -> None:
    for school, role, _email in ROLES:
        give_credentials(instance, world.user(school, role))
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    sent = start_and_offer(sender, instance, world.sender_id, world.receiver_id, world.pupil_id)
    received = complete(sender, receiver, instance, world.receiver_id, sent)
    extra = {
        "dsl1@example.org": [f"/transfers/{sent}", f"/pupils/{world.pupil_id}"],
        "dsl2@example.org": [f"/transfers/{received}", f"/received/{received}/acknowledge"],
    }
    checked = 0
    for _school, _role, email in ROLES:
        page = _sign_in(browser, server, email)
        page.set_viewport_size(PHONE)
        for path in [*_main_pages(page), *extra.get(email, [])]:
            page.goto(f"{server}{path}")
            _fits(page, f"{email} {path}")
            _axe_clean(page)
            checked += 1
        page.context.close()
    assert checked >= 20


def test_changed_pages_are_axe_clean_and_an_error_summary_takes_the_focus(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    app: Flask,
    instance: Instance,
    world: World,
) -> None:
    for school, role, _email in ROLES:
        give_credentials(instance, world.user(school, role))
    sender_client = app.test_client()
    sign_in(sender_client, instance, world.user("sender", "dsl"))
    sent = start_and_offer(
        sender_client, instance, world.sender_id, world.receiver_id, world.pupil_id
    )

    receiver = _sign_in(browser, server, "dsl2@example.org")
    receiver.set_viewport_size(PHONE)
    received = incoming_id(instance, world.receiver_id, sent)
    receiver.goto(f"{server}/transfers/{received}")
    receiver.get_by_label("Accept the file").check()
    receiver.get_by_role("button", name="Send answer").click()
    summary = receiver.locator(".error-summary")
    assert summary.is_visible()
    _summary_has_focus(receiver)
    assert receiver.get_by_label("Accept the file").is_checked()  # The choice survived.
    assert receiver.locator("#on_roll-error").is_visible()
    _axe_clean(receiver)
    _fits(receiver, "answer with an error")
    receiver.get_by_label("I confirm ").check()
    receiver.get_by_role("button", name="Send answer").click()

    sender = _sign_in(browser, server, "dsl1@example.org")
    sender.set_viewport_size(PHONE)
    sender.goto(f"{server}/transfers/{sent}/conversation")
    sender.get_by_label("Date of the conversation").fill(
        (date.today() - timedelta(days=330)).isoformat()
    )
    sender.get_by_label("Who took part").fill("Dsl 1, Dsl 2")
    sender.get_by_label("Summary of the child's needs").fill("Needs a trusted adult at break.")
    sender.get_by_role("button", name="Save conversation").click()
    _summary_has_focus(sender)
    assert sender.locator("#held_on-error").is_visible()
    assert sender.get_by_label("Who took part").input_value() == "Dsl 1, Dsl 2"
    _axe_clean(sender)
    sender.get_by_label("Date of the conversation").fill(date.today().isoformat())
    sender.get_by_role("button", name="Save conversation").click()
    _axe_clean(sender)  # The outgoing transfer page.
    sender.goto(f"{server}/leavers")
    _axe_clean(sender)

    admin = _sign_in(browser, server, "admin1@example.org")
    admin.set_viewport_size(PHONE)
    admin.goto(f"{server}/admin/policy")
    assert admin.locator("form#policy button[type=submit]").count() == 1
    _axe_clean(admin)
    _fits(admin, "/admin/policy")
