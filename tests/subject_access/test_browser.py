"""In Chromium: a DSL logs and prepares a parent's request, the DPO approves it with a fresh
second factor and prints it, the DSL closes it with the receipt code; nobody else is named."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from sar_kit import FORBIDDEN_NAMES, PARTNER, make_setting
from sqlalchemy import select
from web_kit import TOTP_SECRET, give_credentials, inline_task_runner, web_settings

from exchange.audit.models import AuditEntry
from exchange.instance import Instance
from exchange.subject_access.clock import due_date
from exchange.subject_access.models import SubjectAccessItem, SubjectAccessRequest
from exchange.web import create_app

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "subject_access"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


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
    page = browser.new_context(accept_downloads=True).new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Security code").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.get_by_role("button", name="Sign in").click()
    return page


def _nearly_due_receipt() -> date:
    """Return a receipt date whose one-month clock ends within the next 5 days."""
    received = date.today() - timedelta(days=35)
    while (due_date(received) - date.today()).days < 1:
        received += timedelta(days=1)
    return received


def test_a_request_from_logging_to_acknowledgement_in_chromium(
    server: str, browser: object, instance: Instance, tmp_path: Path
) -> None:
    setting = make_setting(instance)
    for user_id in (setting.dsl_id, setting.dpo_id):
        give_credentials(instance, user_id)

    dsl = _sign_in(browser, server, "dsl1@example.org")
    dsl.get_by_role("navigation", name="Main").get_by_role("link", name="Subject access").click()
    assert dsl.get_by_role("heading", name="Subject access requests").is_visible()
    dsl.get_by_role("link", name="Log a request").click()
    dsl.get_by_label("The child the request is about").select_option(label="Maisie Thornbury")
    dsl.get_by_label("Who made the request").fill("Joanna Thornbury")
    dsl.get_by_label("A parent with parental responsibility").check()
    received = _nearly_due_receipt()
    dsl.get_by_label("Date received").fill(received.isoformat())
    dsl.get_by_label("How the requester's identity was checked").fill("Passport seen")
    dsl.get_by_label("How parental responsibility or authority was checked").fill(
        "Birth certificate seen"
    )
    dsl.get_by_label("The requester has parental responsibility").check()
    _shot(dsl, "01-log")
    dsl.get_by_role("button", name="Log the request").click()
    assert dsl.get_by_role("heading", name=re.compile("Subject access request")).is_visible()
    dsl.get_by_label("The child was consulted").check()
    dsl.get_by_label("What the child said").fill("She is happy for her mum to see it.")
    dsl.get_by_role("button", name="Save the child's views").click()
    dsl.get_by_label("Name of a third party to remove").fill(PARTNER)
    dsl.get_by_role("button", name="Remove this person").click()
    dsl.get_by_role("button", name="Redact for this requester").click()
    _shot(dsl, "02-flags")
    while dsl.get_by_role("button", name="Save the decision").count():
        dsl.get_by_label("Remove every doubtful name").first.check()
        dsl.get_by_label("What you checked").first.fill("Checked by hand")
        dsl.get_by_role("button", name="Save the decision").first.click()
    with instance.sessions() as session:
        bullying = session.scalar(
            select(SubjectAccessItem.id).where(
                SubjectAccessItem.kind == "incident", SubjectAccessItem.category != "Uncategorised"
            )
        )
    dsl.get_by_label("Record to withhold from").select_option(value=str(bullying))
    dsl.get_by_label("Exemption", exact=True).select_option("serious_harm")
    dsl.get_by_label("Passage to withhold").fill("pushed her at break")
    dsl.get_by_label("Why the exemption applies").fill("Would distress the child")
    dsl.get_by_label("Who was consulted").fill("Dr A. Example, school nurse")
    dsl.get_by_role("button", name="Withhold", exact=True).click()
    assert dsl.get_by_text("(a passage)").is_visible()
    dsl.get_by_role("button", name="Send for approval").click()
    assert dsl.get_by_text("Awaiting approval").is_visible()
    _shot(dsl, "03-awaiting-approval")

    dpo = _sign_in(browser, server, "dpo1@example.org")
    with instance.sessions() as session:
        request_id = session.scalar(select(SubjectAccessRequest.id))
        uid = session.scalar(select(SubjectAccessRequest.request_uid))[:8]
    # The DPO's start page lists the request, due within 5 days, and links to it.
    soon = dpo.locator("#subject-access ~ .table-scroll").first
    assert soon.get_by_role("link", name=uid).is_visible()
    row = soon.get_by_role("row").filter(has_text=uid).inner_text()
    assert due_date(received).strftime("%-d %B %Y") in row
    assert "days left" in row
    assert (
        dpo.get_by_role("navigation", name="Main")
        .get_by_role("link", name="Subject access")
        .is_visible()
    )
    results = Axe().run(dpo)
    assert results.violations_count == 0, results.generate_report()
    _shot(dpo, "03b-dpo-start")
    soon.get_by_role("link", name=uid).click()
    dpo.get_by_role("link", name="Approve the response").click()
    if "/confirm" in dpo.url:
        dpo.get_by_label("Security code").fill(pyotp.TOTP(TOTP_SECRET).at(time.time() + 30))
        dpo.get_by_role("button", name="Confirm").click()
    dpo.get_by_label("I approve this response").check()
    _shot(dpo, "04-approve")
    dpo.get_by_role("button", name="Approve the response").click()
    assert dpo.get_by_text("Approved").first.is_visible()
    dpo.get_by_label("Printed").check()
    dpo.get_by_role("button", name="Send the response").click()
    assert dpo.get_by_role("heading", name="Response sent").is_visible()
    with dpo.expect_download() as download:
        dpo.get_by_role("link", name="Download the PDF to print").click()
    printed = tmp_path / "response.pdf"
    download.value.save_as(printed)
    _shot(dpo, "05-sent")
    text = subprocess.run(
        ["pdftotext", str(printed), "-"], capture_output=True, text=True, check=True
    ).stdout
    for name in FORBIDDEN_NAMES:
        assert name.casefold() not in text.casefold(), name
    assert "Joanna Thornbury" in text
    assert "pushed her at break" not in text
    assert "[withheld: see schedule item" in text
    assert "Dr A. Example" not in text
    code = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", text).group(0)

    dsl.goto(f"{server}/subject-access/{request_id}")
    dsl.get_by_label("Receipt code read back by the requester").fill(code)
    dsl.get_by_label("Who read it back, and how").fill("The requester, by phone")
    dsl.get_by_role("button", name="Record the receipt and close").click()
    assert dsl.get_by_text("Closed").first.is_visible()
    _shot(dsl, "06-closed")
    dpo.goto(f"{server}/subject-access")
    assert dpo.get_by_text("Closed").first.is_visible()
    _shot(dpo, "07-register")
    with instance.sessions() as session:
        events = set(session.scalars(select(AuditEntry.event)))
    assert {"sar.viewed", "sar.log", "sar.approve", "sar.send", "sar.acknowledge"} <= events
