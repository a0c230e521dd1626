"""The daily reminder is in the beat schedule, and a real worker knows and runs it."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest
from celery.schedules import crontab
from sar_kit import Setting, make_setting
from sqlalchemy import select

from exchange.instance import Instance
from exchange.serve import worker_command, worker_environment
from exchange.subject_access import service
from exchange.subject_access.models import SubjectAccessRequest
from exchange.tasks import names
from exchange.tasks.celery_app import TASK_MODULES, make_celery


def test_the_beat_runs_the_reminder_every_morning_at_the_chase_hour(instance: Instance) -> None:
    app = make_celery({**instance.config, "CHASE_HOUR": 7})
    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == names.SAR_REMIND]
    assert len(entries) == 1
    assert entries[0]["schedule"] == crontab(hour=7, minute=5)
    assert "exchange.subject_access.tasks" in TASK_MODULES
    app.loader.import_default_modules()
    assert names.SAR_REMIND in app.tasks
    app.close()


@pytest.mark.celery
def test_a_real_worker_records_the_reminders(instance: Instance) -> None:
    from sar_kit import actor, school

    from exchange.db import transaction
    from exchange.records.models import Pupil

    setting: Setting = make_setting(instance)
    with transaction(instance.sessions) as session:
        request = service.log_request(
            session,
            school(session, setting),
            actor(session, setting.dsl_id),
            session.get(Pupil, setting.pupil_id),
            requester_name="Maisie Thornbury",
            relationship="self",
            received_on=date(2026, 11, 2),
            identity_check="Known to staff",
            today=date(2026, 11, 3),
        )
        request_id = request.id
    with (instance.home / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            worker_command(instance, beat=False, concurrency=1),
            env=worker_environment(instance),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    app = make_celery(instance.config)
    try:
        counts = app.send_task(names.SAR_REMIND, args=["2026-11-26"]).get(timeout=120)
    finally:
        app.close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert counts == {"schools": 1, "reminders": 1}
    with instance.sessions() as session:
        reminded = session.scalar(
            select(SubjectAccessRequest.last_reminder_on).where(
                SubjectAccessRequest.id == request_id
            )
        )
    assert reminded == date(2026, 11, 26)
