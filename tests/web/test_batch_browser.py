"""In Chromium: the departing DSL starts and authorises a batch, the receiving DSL answers it in
one form; axe-core finds each new page clean."""

from __future__ import annotations

from datetime import date

import pytest
from axe_playwright_python.sync_playwright import Axe
from batch_kit import leaver_name
from test_batch_pages import _leavers
from test_browser import ARTIFACTS, _confirm_if_asked, _sign_in, browser, server  # noqa: F401
from web_kit import World, give_credentials

from exchange.instance import Instance
from exchange.transfers import states
from exchange.transfers.models import Transfer, TransferBatch

pytestmark = pytest.mark.browser


def _axe_clean(page) -> None:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _child(number: int) -> str:
    return " ".join(leaver_name(number))


def test_a_september_batch_in_the_browser(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    instance: Instance,
    world: World,
) -> None:
    for school in ("sender", "receiver"):
        give_credentials(instance, world.user(school, "dsl"))
    ids = _leavers(instance, world, range(60, 63))
    sender = _sign_in(browser, server, "dsl1@example.org")
    sender.goto(f"{server}/transfers")
    sender.get_by_role("link", name="Batches of leavers").click()
    _axe_clean(sender)
    sender.get_by_role("link", name="Start a batch").click()
    _axe_clean(sender)
    for number in (60, 61, 62):
        sender.get_by_label(f"Include {_child(number)}").check()
    sender.get_by_role("button", name="Start the ticked transfers").click()
    assert sender.get_by_text("3 of 3 children went ahead").is_visible()
    assert sender.locator("#batch-children").get_by_text("Offered").count() == 3
    _axe_clean(sender)
    _shot(sender, "batch-made")

    receiver = _sign_in(browser, server, "dsl2@example.org")
    receiver.goto(f"{server}/transfers")
    receiver.get_by_role("link", name="Answer offers by school").click()
    assert receiver.get_by_role("heading", name="Flow School 1: batch of 3, 3 waiting").is_visible()
    _axe_clean(receiver)
    receiver.set_viewport_size({"width": 390, "height": 800})
    assert receiver.evaluate("document.documentElement.scrollWidth") <= 390  # A phone's width.
    receiver.set_viewport_size({"width": 1280, "height": 800})
    first, second, third = (receiver.locator(".offer-child").nth(n) for n in range(3))
    assert _child(60) in first.locator("legend").inner_text()
    first.get_by_label("Accept", exact=True).check()
    first.get_by_label(f"I confirm {_child(60)}").check()
    second.get_by_label("Accept", exact=True).check()  # The roll not confirmed: refused.
    third.get_by_label("Reject", exact=True).check()
    third.get_by_label("Reason, if you reject").fill("Joining a school nearer home")
    receiver.get_by_role("button", name="Send these answers").click()
    assert receiver.get_by_text("2 answers sent").is_visible()
    assert receiver.get_by_role("alert").get_by_text("Confirm that the child").is_visible()
    _axe_clean(receiver)
    _shot(receiver, "batch-offers-answered")
    child = receiver.locator(".offer-child").first
    child.get_by_label("Accept", exact=True).check()
    child.get_by_label(f"I confirm {_child(61)}").check()
    receiver.get_by_role("button", name="Send these answers").click()
    assert receiver.get_by_text("1 answer sent").is_visible()
    assert receiver.get_by_text("No offers are waiting for your answer").is_visible()

    sender.goto(f"{server}/transfers/batches")
    sender.get_by_role("table").get_by_role("link").first.click()
    _axe_clean(sender)
    sender.get_by_role("link", name="Record the 2 DSL conversations needed").click()
    _axe_clean(sender)
    for number in (60, 61):
        group = sender.get_by_role("group", name=_child(number))
        group.get_by_label("Date of the conversation").fill(date.today().isoformat())
        group.get_by_label("Who took part").fill("Dsl 1, Dsl 2")
        group.get_by_label("Summary of the child's needs").fill("Settled; a quiet start helps.")
    sender.get_by_role("button", name="Save the conversations").click()
    assert sender.get_by_role("heading", name="Conversations recorded").is_visible()
    sender.get_by_role("link", name="Authorise the batch").click()
    _confirm_if_asked(sender)
    assert sender.get_by_role("heading", name="Ready: 2 children").is_visible()
    assert sender.locator("#not-ready").get_by_text("while the transfer is rejected").is_visible()
    _axe_clean(sender)
    _shot(sender, "batch-authorise")
    sender.set_viewport_size({"width": 390, "height": 800})
    assert sender.evaluate("document.documentElement.scrollWidth") <= 390
    sender.set_viewport_size({"width": 1280, "height": 800})
    sender.get_by_label("I authorise sending these 2 files now").check()
    sender.get_by_role("button", name="Authorise and send the ready files").click()
    assert sender.get_by_role("heading", name="Authorised where ready").is_visible()
    _axe_clean(sender)
    with instance.sessions() as session:
        batch = session.query(TransferBatch).filter_by(school_id=world.sender_id).one()
        made = session.query(Transfer).filter_by(batch_id=batch.id).order_by(Transfer.id).all()
        assert [t.pupil_id for t in made] == ids
        assert made[2].state == states.REJECTED
        assert all(t.authorised_at is not None for t in made[:2])
