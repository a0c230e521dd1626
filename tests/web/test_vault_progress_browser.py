"""In Chromium: the redaction review while the texts and documents are redacted, and after."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from test_browser import _sign_in, browser, server  # noqa: F401 (fixtures)
from web_kit import World, give_credentials

from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import find_partner
from exchange.records.models import Pupil, School, User
from exchange.transfers import workflow
from exchange.transfers.actors import Actor
from exchange.transfers.vault_task import redact_vault

pytestmark = pytest.mark.browser


def test_the_vault_progress_is_read_by_refreshing_in_chromium(
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
        transfer_id = transfer.id  # Its task is written but not sent: the vault stays pending.
    give_credentials(instance, user_id)
    page = _sign_in(browser, server, "dsl1@example.org")
    page.goto(f"{server}/transfers/{transfer_id}/redactions")
    progress = page.locator("#vault-progress")
    expect(progress).to_contain_text("The incidents and documents are being redacted")
    expect(progress).to_contain_text("0 of 1 incidents redacted")
    expect(progress).to_contain_text("0 of 1 documents redacted and checked")
    assert page.locator("table").count() == 0  # No empty table while nothing is filed.
    assert page.locator("script").count() == 0
    assert page.locator("meta[http-equiv]").count() == 0
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    page.get_by_role("link", name="Refresh this page to see progress").click()
    expect(page.locator("#vault-progress")).to_contain_text("0 of 1")
    redact_vault(instance, transfer_id, workers=1)  # The worker's turn.
    page.reload()
    expect(page.locator("#vault-progress")).to_have_count(0)
    expect(page.locator("table")).to_contain_text("Incident")
    expect(page.locator("table")).to_contain_text("Document")
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
