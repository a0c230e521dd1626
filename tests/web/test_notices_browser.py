"""In Chromium: the departing DSL recalls a delivered file and the receiving DSL destroys it;
a refused offer is re-offered with an answer; a child goes to a school in Scotland. axe on each."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from flow import complete, incoming_id, post, start_and_offer
from playwright.sync_api import expect
from test_browser import _confirm_if_asked, _shot, _sign_in, browser, server  # noqa: F401
from web_kit import World, give_credentials, sign_in

from exchange.instance import Instance
from exchange.partners.models import Partner
from exchange.records.models import Incident
from exchange.transfers import states
from exchange.transfers.models import Transfer

pytestmark = pytest.mark.browser


def _axe_clean(page) -> None:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def closed_transfer(app: Flask, instance: Instance, world: World) -> int:
    """Run a transfer from the sender to the receiver to the end; return the sender's id."""
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    complete(sender, receiver, instance, world.receiver_id, transfer_id)
    return transfer_id


def _state(instance: Instance, transfer_id: int) -> str:
    with instance.sessions() as session:
        return session.get(Transfer, transfer_id).state


def test_a_recall_and_its_destruction_in_chromium(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    app: Flask,
    instance: Instance,
    world: World,
) -> None:
    sent = closed_transfer(app, instance, world)
    received = incoming_id(instance, world.receiver_id, sent)
    for school in ("sender", "receiver"):
        give_credentials(instance, world.user(school, "dsl"))

    sender = _sign_in(browser, server, "dsl1@example.org")
    sender.goto(f"{server}/transfers/{sent}/recall")
    _confirm_if_asked(sender)
    expect(sender.get_by_role("heading", level=1)).to_be_visible()
    _axe_clean(sender)
    sender.get_by_role("button", name="Send the recall").click()
    expect(sender.get_by_role("alert")).to_contain_text("Enter why the file is recalled")
    _axe_clean(sender)
    sender.get_by_label("Why is the file recalled?").fill("Sent before the move was final.")
    sender.get_by_role("button", name="Send the recall").click()
    expect(sender.get_by_role("alert")).to_contain_text("Confirm that the receiving school")
    sender.get_by_label("Why is the file recalled?").fill("Sent before the move was final.")
    sender.get_by_label("Ask").check()
    sender.get_by_role("button", name="Send the recall").click()
    _confirm_if_asked(sender)
    expect(sender).to_have_url(f"{server}/transfers/{sent}")
    assert _state(instance, received) == states.RECALL_REQUESTED

    receiver = _sign_in(browser, server, "dsl2@example.org")
    receiver.goto(f"{server}/transfers/{received}/destroy-recalled")
    _confirm_if_asked(receiver)
    expect(receiver.get_by_text("Sent before the move was final.")).to_be_visible()
    _axe_clean(receiver)
    receiver.get_by_label("Destroy the file received from").check()
    receiver.get_by_role("button", name="Destroy and tell the sender").click()
    _confirm_if_asked(receiver)
    _shot(receiver, "recall-destroyed")
    assert _state(instance, received) == states.RECALLED
    assert _state(instance, sent) == states.RECALLED
    with instance.sessions() as session:
        left = session.query(Incident).filter_by(school_id=world.receiver_id).count()
    assert left == 0


def test_a_re_offer_after_a_refusal_and_a_school_in_scotland_in_chromium(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    app: Flask,
    instance: Instance,
    world: World,
) -> None:
    client, other = app.test_client(), app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    sign_in(other, instance, world.user("receiver", "dsl"))
    refused = start_and_offer(client, instance, world.sender_id, world.receiver_id, world.pupil_id)
    answer = {"decision": "reject", "reason": "Not on our roll yet"}
    post(other, f"/transfers/{incoming_id(instance, world.receiver_id, refused)}/answer", answer)
    assert _state(instance, refused) == states.REJECTED
    give_credentials(instance, world.user("sender", "dsl"))

    page = _sign_in(browser, server, "dsl1@example.org")
    page.goto(f"{server}/transfers/{refused}/reoffer")
    _confirm_if_asked(page)
    expect(page.get_by_text("Not on our roll yet")).to_be_visible()
    _axe_clean(page)
    page.get_by_label("Your answer to the refusal").fill("Her start date is confirmed.")
    page.get_by_role("button", name="Start the new offer").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    with instance.sessions() as session:
        again = (
            session.query(Transfer)
            .filter_by(follows_uid=session.get(Transfer, refused).transfer_uid)
            .one()
        )
        assert again.follows_answer == "Her start date is confirmed."

    page.goto(f"{server}/transfers/new/{world.pupil_id}/elsewhere")
    _axe_clean(page)
    page.get_by_label("A school in Scotland").check()
    page.get_by_label("Name of the school or local authority").fill("Example Academy")
    page.get_by_label("Identifier").fill("12345")
    page.get_by_label("Receiving DSL, or the local authority's named officer").fill("Alex Example")
    page.get_by_role("button", name="Start the transfer").click()
    expect(page.locator("#identifier-error")).to_be_visible()
    expect(page.locator("#contact_email-error")).to_be_visible()  # Every error at once.
    expect(page.get_by_label("A school in Scotland")).to_be_checked()  # The choice is kept.
    _axe_clean(page)
    page.get_by_label("Identifier").fill("5123456")
    page.get_by_label("Their email address").fill("dsl@academy.example")
    page.get_by_role("button", name="Start the transfer").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    _shot(page, "destination-scotland")
    with instance.sessions() as session:
        partner = session.query(Partner).filter_by(kind="scottish_school").one()
        assert (partner.identifier, partner.contact_email) == ("5123456", "dsl@academy.example")
        assert session.query(Transfer).filter_by(partner_id=partner.id).count() == 1
