"""The workflow is the one place that moves a transfer, and its page is generated from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exchange.auth.permissions import TABLE, can, refusal, roles_for
from exchange.tasks import names
from exchange.tasks.celery_app import make_celery
from exchange.transfers import workflow, workflow_doc

ROOT = Path(__file__).resolve().parents[2]
CALLERS = [
    *sorted((ROOT / "exchange" / "web").rglob("*.py")),
    *sorted((ROOT / "exchange" / "web" / "templates").rglob("*.html")),
    ROOT / "exchange" / "transfers" / "cli.py",
]
# Subject-access pages, whose `.state` is a request's state, not a transfer's. Transfer pages
# ask `exchange.transfers.progress` (what to show) or the workflow (what may be done).
SHOWS_STATE_ONLY = {"index.html", "show.html"}
STATE_GUARD = re.compile(r"\.state\s*(==|!=|=(?!=)|\s+(not\s+)?in\b)")
TASK_NAME = re.compile(r"[\"']exchange\.(transfers|audit|retention|outbox)\.[a-z_]+[\"']")


def test_the_workflow_page_is_generated_from_the_code() -> None:
    page = (ROOT / "docs" / "workflow.md").read_text()
    assert page == workflow_doc.render(), "run python -m exchange.transfers.workflow_doc"


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_callers_hold_no_state_guard_and_no_task_name(path: Path) -> None:
    text = path.read_text()
    if path.name not in SHOWS_STATE_ONLY or path.parent.name != "subject_access":
        assert not STATE_GUARD.search(text), f"{path.name} decides on a transfer's state itself"
    assert not TASK_NAME.search(text), f"{path.name} names a Celery task as a string"


def test_every_action_names_a_permission_of_the_one_table() -> None:
    for action in workflow.ACTIONS.values():
        assert action.permission in TABLE, action.name
        assert action.targets, action.name


def test_every_task_the_outbox_queues_is_registered_with_the_worker() -> None:
    app = make_celery(
        {
            "BROKER_URL": "memory://",
            "RESULT_BACKEND": "cache+memory://",
            "TASK_QUEUE": "t",
            "HOME": ROOT,
            "HEARTBEAT_SECONDS": 60,
            "CHECKPOINT_SECONDS": 60,
            "CHASE_HOUR": 7,
        }
    )
    app.loader.import_default_modules()
    for effect in (e for a in workflow.ACTIONS.values() for e in a.effects):
        assert effect.task in names.OUTBOX_TASKS
        assert effect.task in app.tasks, effect.task
    assert names.DISPATCH_OUTBOX in app.tasks


def test_holds_are_placed_by_a_dsl_and_released_only_by_a_dpo() -> None:
    assert {"dsl", "deputy_dsl", "dpo"} <= roles_for("place_holds")
    assert roles_for("release_holds") == {"dpo"}
    assert (
        refusal("dsl", "release_holds") == "Only the DPO can release a legal hold; the DSL cannot"
    )


def test_a_school_setting_changes_who_may_authorise() -> None:
    strict = {"deputy_may_authorise": False}
    assert not can("deputy_dsl", "transfer.authorise", strict)
    assert can("deputy_dsl", "transfer.authorise", {"deputy_may_authorise": True})
    assert refusal("deputy_dsl", "transfer.authorise", strict) == (
        "Only the DSL can authorise a transfer at this school; deputies are not allowed to "
        "(the school setting deputy_may_authorise is off)"
    )
    assert not can("system", "manage_transfers")
    assert not can("dsl", "transfer.system")
