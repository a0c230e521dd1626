"""In Chromium: the receiving DSL downloads and confirms on the download page; the admin maps
received records to the school's categories. axe finds both clean."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import pyzipper
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from offline_kit import authorised_offline_transfer
from playwright.sync_api import expect
from test_browser import _shot, _sign_in, browser, server  # noqa: F401 (fixtures)
from web_kit import World, give_credentials, sign_in

from exchange.db import transaction
from exchange.instance import Instance
from exchange.policy.incoming import mapped_category
from exchange.records.models import School
from exchange.transfers import pickup, states
from exchange.transfers.models import Transfer

pytestmark = pytest.mark.browser
PASSPHRASE = re.compile(r'<p class="body passphrase" id="passphrase"><strong>([a-z-]+)</strong>')


def _axe_clean(page) -> None:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_the_receiving_dsl_confirms_on_the_download_page_in_chromium(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    app: Flask,
    instance: Instance,
    world: World,
    tmp_path: Path,
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    transfer_id = authorised_offline_transfer(client, instance, world.sender_id, world.pupil_id)
    # The departing DSL exports in Chromium (pyHanko signs the form outside this test's loop).
    give_credentials(instance, world.user("sender", "dsl"))
    sender = _sign_in(browser, server, "dsl1@example.org")
    sender.goto(f"{server}/transfers/{transfer_id}/export")
    sender.get_by_role("button", name="Export the zip and show the passphrase").click()
    passphrase = PASSPHRASE.search(sender.content()).group(1)
    expect(sender.get_by_text("is emailed a link")).to_have_count(0)  # No address recorded.
    with instance.sessions() as session:
        token = pickup.token_for(instance.instance_key, session.get(Transfer, transfer_id))

    page = browser.new_context(accept_downloads=True).new_page()  # type: ignore[attr-defined]
    page.goto(f"{server}/pickup/{token}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("A safeguarding file from")
    _axe_clean(page)
    with page.expect_download() as started:
        page.get_by_role("link", name="Download the encrypted zip").click()
    saved = tmp_path / "file.zip"
    started.value.save_as(saved)
    with pyzipper.AESZipFile(io.BytesIO(saved.read_bytes())) as archive:
        archive.setpassword(passphrase.encode())
        code = re.search(r"Receipt code: (\S+)", archive.read("02-receipt-code.txt").decode())
    assert code is not None

    page.get_by_label("Your name and school").fill("Dsl Receiving, Flow School 3")
    page.get_by_label("Receipt code").fill("0000-0000-0000-0000")
    page.get_by_role("button", name="Confirm receipt").click()
    expect(page.get_by_role("alert")).to_contain_text("does not match")
    _axe_clean(page)
    page.get_by_label("Receipt code").fill(code.group(1))
    page.get_by_role("button", name="Confirm receipt").click()
    expect(page.get_by_role("status")).to_contain_text("Receipt confirmed")
    _axe_clean(page)
    _shot(page, "offline-pickup-confirmed")
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == states.CLOSED
    page.goto(f"{server}/pickup/{token}")
    expect(page.get_by_text("This link does not work")).to_be_visible()


def test_the_admin_maps_received_records_to_the_schools_categories_in_chromium(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    app: Flask,
    instance: Instance,
    world: World,
) -> None:
    give_credentials(instance, world.user("receiver", "admin"))
    page = _sign_in(browser, server, "admin2@example.org")
    page.goto(f"{server}/admin/policy/incoming")
    expect(page.get_by_role("heading", name="Where received records are filed")).to_be_visible()
    _axe_clean(page)
    with instance.sessions() as session:
        school = session.get(School, world.receiver_id)
        target = next(
            path
            for path in page.get_by_label("Bullying").locator("option").all_text_contents()
            if path != "The default" and path != mapped_category(session, school, "bullying").path
        )
    page.get_by_label("Bullying").select_option(label=target)
    page.get_by_role("button", name="Save where records are filed").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    _axe_clean(page)
    with transaction(instance.sessions) as session:
        school = session.get(School, world.receiver_id)
        assert mapped_category(session, school, "bullying").path == target
    # A DSL or the DPO cannot see or change it.
    for role in ("dsl", "dpo"):
        client = app.test_client()
        sign_in(client, instance, world.user("receiver", role))
        assert client.get("/admin/policy/incoming").status_code == 403
