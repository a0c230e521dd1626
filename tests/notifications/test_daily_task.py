"""The daily beat task, run by a real Celery worker, emails the reminders through real SMTP."""

from __future__ import annotations

import subprocess
from datetime import date
from typing import Any

import pytest
from factories import pupil as make_pupil
from factories import school as make_school

from exchange.db import transaction
from exchange.instance import open_instance
from exchange.records.schools import add_user
from exchange.serve import worker_command, worker_environment
from exchange.tasks import names
from exchange.tasks.celery_app import make_celery
from exchange.transfers.notify import SUBJECTS

pytestmark = pytest.mark.celery


def test_the_daily_task_in_a_real_worker_emails_the_reminder(
    instance_config: dict[str, object], smtp: tuple[Any, int]
) -> None:
    inbox, port = smtp
    instance = open_instance({**instance_config, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port})
    with transaction(instance.sessions) as session:
        school = make_school(session)
        add_user(session, school, "dsl", "Dee Ess", "dsl@example.org")
        make_pupil(session, school, leaving_date=date(2027, 1, 13))
    log = (instance.home / "worker.log").open("wb")
    process = subprocess.Popen(
        worker_command(instance, beat=False, concurrency=1),
        env=worker_environment(instance),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    app = make_celery(instance.config)
    try:
        # The task takes the day as an ISO date, never anything about a child.
        result = app.send_task(names.TRANSFERS_DAILY, kwargs={"today": "2027-01-15"})
        counts = result.get(timeout=120)
        assert counts == {"expired": 0, "reminders": 1, "digests": 0}, (
            instance.home / "worker.log"
        ).read_text()[-3000:]
    finally:
        app.close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        instance.close()
    [(to, message, _text)] = inbox.parsed()
    assert to == ["dsl@example.org"]
    assert message["Subject"] == SUBJECTS["deadline_3"]
