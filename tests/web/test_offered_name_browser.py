"""In Chromium: the receiving DSL reads the offered child's name and confirms it; axe on each."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from flow import incoming_id, start_and_offer
from playwright.sync_api import expect
from test_browser import _shot, _sign_in, browser, server  # noqa: F401
from web_kit import World, give_credentials, sign_in

from exchange.instance import Instance
from exchange.records.models import Pupil
from exchange.transfers import states
from exchange.transfers.models import Transfer

pytestmark = pytest.mark.browser


def _axe_clean(page) -> None:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_the_receiving_dsl_confirms_the_named_child_in_chromium(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    app: Flask,
    instance: Instance,
    world: World,
) -> None:
    offering = app.test_client()
    sign_in(offering, instance, world.user("sender", "dsl"))
    sent = start_and_offer(offering, instance, world.sender_id, world.receiver_id, world.pupil_id)
    received = incoming_id(instance, world.receiver_id, sent)
    with instance.sessions() as session:
        pupil = session.get(Pupil, world.pupil_id)
        name, born, upn = pupil.forename + " " + pupil.surname, pupil.date_of_birth, pupil.upn
        assert session.get(Transfer, received).pupil_id is None  # Not on the receiver's roll.
    for role in ("dsl", "dpo"):
        give_credentials(instance, world.user("receiver", role))

    receiver = _sign_in(browser, server, "dsl2@example.org")
    receiver.goto(f"{server}/transfers?direction=incoming")
    incoming = receiver.get_by_role("table", name="Incoming offers and files")
    expect(incoming.get_by_role("cell", name=name)).to_be_visible()
    _axe_clean(receiver)
    incoming.get_by_role("link").first.click()
    expect(receiver.get_by_text(f"{name} (as the offer names them)")).to_be_visible()
    confirmation = f"I confirm {name}, born {born:%-d %B %Y}, UPN {upn}, is or will be on our roll"
    expect(receiver.get_by_label(confirmation)).to_be_visible()
    _axe_clean(receiver)
    receiver.get_by_label("Accept the file").check()
    receiver.get_by_label(confirmation).check()
    _shot(receiver, "offered-name-confirmation")
    receiver.get_by_role("button", name="Send answer").click()
    expect(receiver.get_by_text("Accepted", exact=True).first).to_be_visible()
    with instance.sessions() as session:
        assert session.get(Transfer, received).state == states.ACCEPTED

    dpo = _sign_in(browser, server, "dpo2@example.org")
    dpo.goto(f"{server}/transfers/{received}")
    expect(dpo.get_by_role("heading", level=1)).to_be_visible()
    assert pupil.surname not in dpo.content()
    _axe_clean(dpo)
