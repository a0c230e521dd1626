"""In Chromium: a DSL follows the menu link, changes their password, and axe finds it clean."""

from __future__ import annotations

import time

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from test_browser import _shot, _sign_in, browser, server  # noqa: F401 (fixtures)
from web_kit import TOTP_SECRET, World, give_credentials

from exchange.auth.passwords import verify_password
from exchange.instance import Instance
from exchange.records.models import User

pytestmark = pytest.mark.browser
NEW = "a different long passphrase"


def _axe_clean(page) -> None:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_a_dsl_changes_their_password_in_chromium(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    instance: Instance,
    world: World,
) -> None:
    user_id = world.user("sender", "dsl")
    give_credentials(instance, user_id)
    page = _sign_in(browser, server, "dsl1@example.org")
    page.get_by_role("link", name="Change password").click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    _axe_clean(page)
    page.get_by_label("Current password").fill("not the password")
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password again").fill(NEW)
    page.get_by_label("Security code").fill("000000")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert").get_by_text("Enter your current password")).to_be_visible()
    _axe_clean(page)
    _shot(page, "own-password-error")
    page.get_by_label("Current password").fill("correct horse battery staple")
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password again").fill(NEW)
    page.get_by_label("Security code").fill(pyotp.TOTP(TOTP_SECRET).at(time.time() + 30))
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed")
    _axe_clean(page)
    _shot(page, "own-password-done")
    with instance.sessions() as session:
        assert verify_password(session.get(User, user_id).password_hash, NEW)
