"""In a real browser: two DSLs complete a transfer with TOTP; a DPO verifies; nobody strays."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select
from web_kit import TOTP_SECRET, World, give_credentials, inline_task_runner, web_settings

from exchange.instance import Instance
from exchange.transfers.models import INCOMING, Transfer
from exchange.web import create_app

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def server(instance: Instance) -> Iterator[str]:
    """Serve the app with waitress on a free port in a thread; return its address."""
    from waitress.server import create_server

    app = create_app(web_settings(instance))
    app.extensions["task_runner"] = inline_task_runner(app, instance)
    served = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{served.effective_port}"
    served.close()
    thread.join(timeout=5)
    app.extensions["exchange"].close()


@pytest.fixture
def browser() -> Iterator[object]:
    """Launch Debian's chromium through Playwright."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(browser, base: str, email: str):  # type: ignore[no-untyped-def]
    page = browser.new_context().new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Security code").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.get_by_role("button", name="Sign in").click()
    return page


def _confirm_if_asked(page) -> None:  # type: ignore[no-untyped-def]
    if "/confirm" in page.url:
        page.get_by_label("Security code").fill(pyotp.TOTP(TOTP_SECRET).at(time.time() + 30))
        page.get_by_role("button", name="Confirm").click()


def test_a_transfer_in_the_browser(
    server: str, browser: object, instance: Instance, world: World
) -> None:
    for school, role in (("sender", "dsl"), ("receiver", "dsl"), ("sender", "dpo")):
        give_credentials(instance, world.user(school, role))
    sender = _sign_in(browser, server, "dsl1@example.org")
    assert sender.get_by_role("heading", name="What needs you today").is_visible()
    sender.get_by_role("link", name="Leavers", exact=True).click()
    assert sender.get_by_role("heading", name="Leavers").is_visible()
    _shot(sender, "01-leavers")
    sender.get_by_role("link", name="Maisie Thornbury").click()
    sender.get_by_role("button", name="Start a transfer").click()
    sender.get_by_role("button", name="Redact and review").click()
    _shot(sender, "02-redactions")
    while sender.get_by_role("button", name="Save decision").count():
        sender.locator("input[value=excluded]").first.check()
        sender.locator("input[name=note]").first.fill("Checked by hand")
        sender.get_by_role("button", name="Save decision").first.click()
    sender.get_by_role("link", name="Back to the transfer").click()
    sender.get_by_role("button", name="Send the offer to Flow School 2").click()
    assert sender.get_by_text("Waiting for an answer").is_visible()
    _shot(sender, "03-task-list-offered")

    receiver = _sign_in(browser, server, "dsl2@example.org")
    receiver.goto(f"{server}/transfers")
    receiver.locator("table").first.get_by_role("link").first.click()
    receiver.get_by_label("Accept the file").check()
    receiver.get_by_label("I confirm ").check()
    _shot(receiver, "04-incoming-offer")
    receiver.get_by_role("button", name="Send answer").click()

    sender.reload()
    sender.get_by_role("link", name="Record the DSL conversation").click()
    sender.get_by_label("Date of the conversation").fill(time.strftime("%Y-%m-%d"))
    sender.get_by_label("Who took part").fill("Dsl 1, Dsl 2")
    sender.get_by_label("Summary of the child's needs").fill("Needs a trusted adult at break.")
    sender.get_by_role("button", name="Save conversation").click()
    sender.get_by_role("link", name="Authorise").click()
    _confirm_if_asked(sender)
    sender.get_by_label("I authorise sending this file").check()
    sender.get_by_role("button", name="Authorise and send").click()
    assert sender.get_by_role("heading", name="Transfer authorised").is_visible()
    _shot(sender, "05-authorised")

    receiver.reload()
    receiver.get_by_role("link", name="Read the imported chronology").click()
    assert receiver.get_by_role("heading", name="Chronology").is_visible()
    assert "Pemberton" not in receiver.content()
    _shot(receiver, "06-imported-chronology")

    dpo = _sign_in(browser, server, "dpo1@example.org")
    dpo.get_by_role("link", name="Receipts", exact=True).click()
    dpo.get_by_role("link", name="Verify").first.click()
    assert dpo.get_by_role("heading", name="Receipt verified").is_visible()
    _shot(dpo, "07-receipt-verified")
    dpo.goto(f"{server}/pupils/{world.pupil_id}")
    assert dpo.get_by_role("heading", name="You do not have access to this page").is_visible()
    assert "pushed her" not in dpo.content()

    with instance.sessions() as session:
        imported = session.scalar(select(Transfer.pupil_id).where(Transfer.direction == INCOMING))
    sender.goto(f"{server}/pupils/{imported}")
    assert sender.get_by_role("heading", name="Page not found").is_visible()
    _shot(sender, "08-other-school-not-found")


def test_a_copied_session_cookie_is_refused_after_sign_out(
    server: str, browser: object, instance: Instance, world: World
) -> None:
    give_credentials(instance, world.user("sender", "dsl"))
    page = _sign_in(browser, server, "dsl1@example.org")
    pupil = f"{server}/pupils/{world.pupil_id}"
    page.goto(pupil)
    assert page.get_by_role("heading", name="Maisie Thornbury").is_visible()
    copied = page.context.cookies()
    thief = browser.new_context()  # type: ignore[attr-defined]
    thief.add_cookies(copied)
    stolen = thief.new_page()
    stolen.goto(pupil)
    assert stolen.get_by_role("heading", name="Maisie Thornbury").is_visible()
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("heading", name="You have signed out").is_visible()
    _shot(page, "09-signed-out")
    replay = browser.new_context().new_page()  # type: ignore[attr-defined]
    replay.context.add_cookies(copied)
    replay.goto(pupil)
    assert replay.get_by_role("heading", name="Sign in").is_visible()
    assert "pushed her" not in replay.content()
    stolen.reload()
    assert stolen.get_by_role("heading", name="Sign in").is_visible()
    _shot(stolen, "10-copied-cookie-refused")
