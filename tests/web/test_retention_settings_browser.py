"""In Chromium: the DPO changes the floors and the SEN categories; axe-core finds nothing."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from test_browser import _confirm_if_asked, _shot, _sign_in, browser, server  # noqa: F401
from web_kit import World, give_credentials

from exchange.instance import Instance
from exchange.records.models import School
from exchange.retention.settings import retention_settings

pytestmark = pytest.mark.browser


def _clean(page, name: str) -> None:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    assert results.violations_count == 0, (name, results.generate_report())
    _shot(page, name)


def test_the_dpo_sets_the_floors_in_the_browser(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    instance: Instance,
    world: World,
) -> None:
    give_credentials(instance, world.user("sender", "dpo"))
    page = _sign_in(browser, server, "dpo1@example.org")
    page.goto(f"{server}/retention")
    page.get_by_role("link", name="Change the floors and the SEN categories").click()
    _confirm_if_asked(page)
    assert page.get_by_role("heading", name="Retention floors and SEN categories").is_visible()
    _clean(page, "retention-settings")

    page.get_by_label("Child protection floor, in years from birth").fill("twenty")
    page.get_by_label("SEN floor, in years from birth").fill("30")
    page.get_by_role("button", name="Save the floors").click()
    _confirm_if_asked(page)
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    assert page.get_by_text("cannot be below 31 years").first.is_visible()
    child_protection = page.get_by_label("Child protection floor, in years from birth")
    assert child_protection.input_value() == "twenty"
    _clean(page, "retention-settings-errors")

    page.get_by_label("Child protection floor, in years from birth").fill("27")
    page.get_by_label("SEN floor, in years from birth").fill("31")
    page.get_by_role("button", name="Save the floors").click()
    _confirm_if_asked(page)
    assert page.get_by_role("status").get_by_text("What keeps records longer").is_visible()
    _clean(page, "retention-settings-saved")

    page.get_by_label("Child protection floor, in years from birth").fill("26")
    page.get_by_role("checkbox", name="SEN", exact=True).uncheck()
    page.get_by_role("button", name="Save the floors").click()
    _confirm_if_asked(page)
    assert page.get_by_text("the floor for child protection records to 26 years").is_visible()
    assert page.get_by_text("the categories counted as SEN to none").is_visible()
    _clean(page, "retention-settings-waiting")
    with instance.sessions() as session:
        settings = retention_settings(session.get(School, world.sender_id))
    assert settings["floor_child_protection_years"] == 27
