"""In Chromium: a DSL finds records changed after the review and redacts them again."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from test_browser import _sign_in, browser, server  # noqa: F401 (fixtures)
from transfer_kit import MARKER, OTHER_CHILD, change_records_after_review
from web_kit import World, give_credentials

from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import find_partner
from exchange.records.models import Pupil, School, User
from exchange.transfers import workflow
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer
from exchange.transfers.vault_task import redact_vault

pytestmark = pytest.mark.browser


def test_the_dsl_redacts_the_changed_texts_again_in_chromium(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    instance: Instance,
    world: World,
) -> None:
    user_id = world.user("sender", "dsl")
    with transaction(instance.sessions) as session:
        school = session.get(School, world.sender_id)
        dsl = Actor.of(session.get(User, user_id))
        partner = find_partner(session, school.id, session.get(School, world.receiver_id).urn)
        pupil = session.get(Pupil, world.pupil_id)
        transfer = workflow.start(
            session, instance, school, "create", dsl, pupil=pupil, partner=partner
        )
        workflow.apply(session, instance, transfer, "start_review", dsl)
        transfer_id = transfer.id
    redact_vault(instance, transfer_id, workers=1)
    incident_id, _action = change_records_after_review(instance, transfer_id)
    give_credentials(instance, user_id)
    page = _sign_in(browser, server, "dsl1@example.org")
    page.goto(f"{server}/transfers/{transfer_id}")
    box = page.locator("#changed-since-review")
    expect(box).to_contain_text("The records changed after the review")
    expect(box).to_contain_text(
        re.compile(rf"Incident {incident_id} \(\d+ \w+ \d{{4}}\): a new action")
    )
    expect(box).to_contain_text(
        re.compile(rf"Incident {incident_id} \(\d+ \w+ \d{{4}}\): its narrative changed")
    )
    expect(page.locator("body")).not_to_contain_text(MARKER)
    expect(page.locator("#task-redactions-status")).to_contain_text("2 changed since: redact again")
    expect(page.get_by_role("button", name="Send the offer")).to_have_count(0)
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    page.get_by_role("button", name="Redact the changed texts again").click()
    expect(page).to_have_url(f"{server}/transfers/{transfer_id}/redactions")
    expect(page.locator("table")).to_contain_text("Action")
    expect(page.locator("body")).not_to_contain_text(OTHER_CHILD[1])
    page.goto(f"{server}/transfers/{transfer_id}")
    expect(page.locator("#changed-since-review")).to_have_count(0)
    page.get_by_role("button", name="Send the offer").click()
    expect(page.locator("body")).to_contain_text("Offered")
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == "offered"
