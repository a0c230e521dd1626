"""In Chromium: the DSL opens a flagged document in the viewer, sees both pages, then confirms."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select
from test_browser import _shot, _sign_in, browser, server  # noqa: F401  (fixtures)
from test_document_viewer import REFUSED, add_scan
from web_kit import World, give_credentials

from exchange.instance import Instance
from exchange.transfers.models import RedactionReview

pytestmark = pytest.mark.browser


def _decision_for(page, review_id: int):  # type: ignore[no-untyped-def]
    return page.locator(f"#review-{review_id}")


def test_the_dsl_confirms_a_scan_only_after_seeing_it(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    instance: Instance,
    world: World,
) -> None:
    add_scan(instance, world.pupil_id)
    give_credentials(instance, world.user("sender", "dsl"))
    dsl = _sign_in(browser, server, "dsl1@example.org")
    dsl.get_by_role("link", name="Maisie Thornbury").click()
    dsl.get_by_role("button", name="Start a transfer").click()
    dsl.get_by_role("button", name="Redact and review").click()
    with instance.sessions() as session:
        flagged = session.scalar(
            select(RedactionReview.id).where(
                RedactionReview.kind == "document", RedactionReview.flagged.is_(True)
            )
        )
    row = _decision_for(dsl, flagged)
    assert row.get_by_text("Open it before you confirm it.").is_visible()

    # Confirming straight from the review, without opening the document, is refused.
    row.get_by_label("Confirm the redaction").check()
    row.get_by_label("What you checked").fill("Looked at the list")
    row.get_by_role("button", name="Save decision").click()
    assert dsl.get_by_text(REFUSED).first.is_visible()
    _shot(dsl, "viewer-01-confirm-refused")

    _decision_for(dsl, flagged).get_by_role("link", name="in the viewer").click()
    assert dsl.get_by_role("heading", name="original and redacted").is_visible()
    original = dsl.get_by_role("img", name="Original page 1")
    redacted = dsl.get_by_role("img", name="Redacted page 1")
    for picture in (original, redacted):
        picture.scroll_into_view_if_needed()
        assert picture.is_visible()
        # The browser decoded a real picture: the server rendered the page.
        assert picture.evaluate("(img) => img.decode().then(() => img.naturalWidth)") == 827
    source = original.get_attribute("src")
    response = dsl.request.get(f"{server}{source}")
    assert response.headers["cache-control"] == "no-store"
    page_picture = Image.open(io.BytesIO(response.body()))
    assert page_picture.size == (827, 1170)
    _shot(dsl, "viewer-02-side-by-side")
    _check_accessibility(dsl)

    dsl.get_by_label("F1: no other child is named here, it can go as it is").check()
    dsl.get_by_label("What you checked").fill("Read the scan: no other child named")
    dsl.get_by_role("button", name="Confirm the redaction").click()
    assert dsl.get_by_role("heading", name="Review redactions").is_visible()
    assert _decision_for(dsl, flagged).get_by_text("Confirmed").is_visible()
    _shot(dsl, "viewer-03-confirmed")
    with instance.sessions() as session:
        assert session.get(RedactionReview, flagged).resolution == "confirmed"


def _check_accessibility(page) -> None:  # type: ignore[no-untyped-def]
    """Run axe-core on the viewer; serious or critical faults fail."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.response["passes"]  # axe-core really ran in the page.
    serious = [
        violation["id"]
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == []
