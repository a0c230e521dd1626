"""In Chromium: a DSL starts a batch of several leavers from the start page's Batches link,
watches "N of M" while the task makes them (no script, no meta refresh), and reads which
children had a problem; axe-core finds every state of the page clean."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
from axe_playwright_python.sync_playwright import Axe
from batch_kit import leaver_name
from test_batch_pages import _leavers
from test_browser import ARTIFACTS, _sign_in, browser  # noqa: F401
from web_kit import World, give_credentials, inline_task_runner, web_settings

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Pupil, School
from exchange.records.upn import make_upn
from exchange.tasks import names
from exchange.transfers.batch_task import MADE, run_batch
from exchange.transfers.models import TransferBatch
from exchange.web import create_app

pytestmark = pytest.mark.browser


def _axe_clean(page) -> None:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def _child(number: int) -> str:
    return " ".join(leaver_name(number))


@pytest.fixture
def held(instance: Instance) -> Iterator[tuple[str, list[int], object]]:
    """Serve the app; hold each batch task back (the worker has not begun); run the rest."""
    from waitress.server import create_server

    app = create_app(web_settings(instance))
    inline = inline_task_runner(app, instance)
    waiting: list[int] = []

    def runner(task: str, args: list, outbox_id: int) -> None:
        if task == names.CREATE_BATCH:
            waiting.append(outbox_id)
        else:
            inline(task, args, outbox_id)

    app.extensions["task_runner"] = runner
    served = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{served.effective_port}", waiting, inline
    served.close()
    thread.join(timeout=5)
    app.extensions["exchange"].close()


def _nothing_to_send(instance: Instance, world: World) -> str:
    """Add a leaver bound for the same school with no record selected: a problem per child."""
    with transaction(instance.sessions) as session:
        receiver = session.get(School, world.receiver_id)
        sender = session.get(School, world.sender_id)
        pupil = Pupil(
            school_id=sender.id,
            upn=make_upn(sender.laestab, 26, 977),
            forename="Quill",
            surname="Nothingham",
            date_of_birth=date(2015, 12, 1),
            year_group="6",
            leaving_date=date(2027, 7, 21),
            destination_urn=receiver.urn,
        )
        session.add(pupil)
    return "Quill Nothingham"


def test_a_dsl_watches_a_batch_being_made_and_reads_its_problems(
    held: tuple[str, list[int], object],
    browser: object,  # noqa: F811
    instance: Instance,
    world: World,
) -> None:
    server, waiting, inline = held
    give_credentials(instance, world.user("sender", "dsl"))
    _leavers(instance, world, range(90, 94))
    bare = _nothing_to_send(instance, world)
    page = _sign_in(browser, server, "dsl1@example.org")
    page.goto(f"{server}/start")
    page.get_by_role("link", name="0 batches of leavers needing action").click()
    page.get_by_role("link", name="Start a batch").click()
    for number in range(90, 94):
        page.get_by_label(f"Include {_child(number)}").check()
    page.get_by_label(f"Include {bare}").check()
    page.get_by_role("button", name="Start the ticked transfers").click()

    status = page.locator("#batch-run")
    assert status.get_by_text("0 of 5").is_visible()
    assert "waiting for the service to begin" in status.inner_text()
    assert page.locator("script").count() == 0
    assert page.locator("meta[http-equiv]").count() == 0  # No refresh: a link the DSL follows.
    _axe_clean(page)
    [outbox_id] = waiting
    with instance.sessions() as session:
        batch_id = session.query(TransferBatch).filter_by(school_id=world.sender_id).one().id

    seen: list[str] = []

    def look(_step: int) -> None:
        """Between two children, the DSL follows the refresh link and reads the figure."""
        page.get_by_role("link", name="Refresh this page to see progress").click()
        seen.append(page.locator("#batch-run strong").inner_text())
        if len(seen) == 2:
            assert "The transfers are being made" in page.locator("#batch-run").inner_text()
            _axe_clean(page)
            page.screenshot(path=str(ARTIFACTS / "batch-progress.png"), full_page=True)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert run_batch(instance, batch_id, outbox_id, send=inline, progress=look) == MADE
    assert seen[:4] == ["1 of 5", "2 of 5", "3 of 5", "4 of 5"]

    page.reload()
    assert page.get_by_role("status").get_by_text("4 of 5 children went ahead").is_visible()
    problems = page.locator("#batch-problems")
    assert problems.get_by_role("link", name=bare).is_visible()
    assert "Nothing is selected to transfer" in problems.inner_text()
    assert page.locator("#batch-children").get_by_text("Offered").count() == 4
    _axe_clean(page)
    page.screenshot(path=str(ARTIFACTS / "batch-finished.png"), full_page=True)
    page.get_by_role("link", name="All batches").click()
    assert page.get_by_text("Made, 1 with a problem").is_visible()
    _axe_clean(page)
