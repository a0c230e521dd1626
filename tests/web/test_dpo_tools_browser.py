"""In Chromium: the DPO works through the audit explorer, holds, forecast, purge history, the
register and the UPN lookup; axe-core finds nothing on any page, and each fits 390 px."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from dpo_kit import play_year
from flask import Flask
from test_browser import ARTIFACTS, _confirm_if_asked, _sign_in, browser, server  # noqa: F401
from transfer_kit import OTHER_CHILD, SUBJECT
from web_kit import World, give_credentials

from exchange.instance import Instance

pytestmark = pytest.mark.browser
# The elements that reach past the right edge of the screen, outside a scrolling table.
WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
    && !(e.parentElement && e.parentElement.closest('.table-scroll')))
  .slice(0, 5).map(e => e.tagName + '.' + e.className)"""


def _checked(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Axe finds nothing, no child's name shows, and the page fits a 390 px phone."""
    results = Axe().run(page)
    assert results.violations_count == 0, (name, results.generate_report())
    content = page.content()
    for child_name in (*SUBJECT, *OTHER_CHILD):
        assert child_name not in content, name
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    wide = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, (name, width, page.evaluate(WIDEST))
    page.set_viewport_size(wide)


def test_the_dpo_works_through_the_tools(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    app: Flask,
    instance: Instance,
    world: World,
) -> None:
    year = play_year(app, instance, world)
    give_credentials(instance, world.user("sender", "dpo"))
    page = _sign_in(browser, server, "dpo1@example.org")
    page.get_by_role("link", name="DPO tools").click()
    assert page.get_by_role("heading", name="DPO tools").is_visible()
    _checked(page, "dpo-tools")

    page.get_by_role("link", name="Audit explorer").click()
    page.get_by_label("Child's UPN").fill(year.subject_upn)
    page.get_by_label("Event").select_option("record.viewed")
    page.get_by_role("button", name="Show entries").click()
    assert page.get_by_text("1 entry, page 1 of 1").is_visible()
    assert page.get_by_role("cell", name="Dsl 1 (dsl)").is_visible()
    _checked(page, "dpo-audit-explorer")
    page.get_by_label("Child's UPN").fill("not a upn")
    page.get_by_role("button", name="Show entries").click()
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    _checked(page, "dpo-audit-explorer-error")

    page.goto(f"{server}/dpo/holds")
    page.get_by_label("Child's UPN").first.fill(year.other_upn)
    page.locator("#reason-pupil").fill("Police inquiry under way")
    page.get_by_role("button", name="Hold the child's file").click()
    _confirm_if_asked(page)
    page.goto(f"{server}/dpo/holds")
    row = page.get_by_role("row").filter(has_text="Police inquiry under way")
    assert row.get_by_text("by Dpo 1").is_visible()
    page.get_by_label("Category (and everything under it)").select_option(index=1)
    page.locator("#reason-category").fill("Inquiry moratorium")
    page.get_by_role("button", name="Hold the category").click()
    _confirm_if_asked(page)
    page.goto(f"{server}/dpo/holds")
    assert page.get_by_text("Inquiry moratorium").is_visible()
    _checked(page, "dpo-holds")

    page.goto(f"{server}/dpo/forecast")
    page.get_by_label("To (YYYY-MM-DD)").fill((date.today() + timedelta(days=800)).isoformat())
    page.get_by_role("button", name="Show the forecast").click()
    assert page.get_by_role("link", name="Download as CSV").is_visible()
    _checked(page, "dpo-forecast")

    page.goto(f"{server}/dpo/purges")
    assert page.get_by_role("link", name=f"Certificate {year.certificate_id} (PDF)").is_visible()
    assert page.get_by_text("by Dpo 1").first.is_visible()
    _checked(page, "dpo-purges")

    page.goto(f"{server}/dpo/register")
    assert page.get_by_role("cell", name="Transfer out").is_visible()
    assert page.get_by_role("cell", name="Disposal").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")
    _checked(page, "dpo-register")

    page.goto(f"{server}/dpo/lookup")
    page.get_by_label("Child's UPN").fill(year.subject_upn)
    page.get_by_role("button", name="Look up").click()
    assert page.get_by_text("This child's file was destroyed").is_visible()
    assert page.get_by_role("link", name=f"Certificate {year.certificate_id} (PDF)").is_visible()
    _checked(page, "dpo-lookup")
