"""In Chromium: an administrator lands on the Users page (their start page), with no child and
no transfer in sight; axe-core finds it clean. Its screenshot is in docs/web.md."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from test_browser import ARTIFACTS, _sign_in, browser, server  # noqa: F401 (fixtures)
from transfer_kit import SUBJECT
from web_kit import World, give_credentials

from exchange.instance import Instance

pytestmark = pytest.mark.browser


def test_the_admin_lands_on_the_users_page(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    instance: Instance,
    world: World,
) -> None:
    give_credentials(instance, world.user("sender", "admin"))
    admin = _sign_in(browser, server, "admin1@example.org")
    assert admin.url.endswith("/admin/users")
    assert admin.get_by_role("heading", name="Users", exact=True).is_visible()
    nav = admin.get_by_role("navigation", name="Main")
    for link in ("Users", "Partners", "Keys", "Policy", "API tokens"):
        assert nav.get_by_role("link", name=link, exact=True).is_visible()
    for hidden in ("Start", "Transfers", "Batches", "Leavers", "Retention"):
        assert nav.get_by_role("link", name=hidden, exact=True).count() == 0
    assert SUBJECT[1] not in admin.content()
    results = Axe().run(admin)
    assert results.violations_count == 0, results.generate_report()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "start-admin.png"), full_page=True)
