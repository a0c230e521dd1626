"""The DPO's pages show what a waiting shortening will make due, marked with the change."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flow import post
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Pupil
from exchange.retention.assign import recompute_pupil
from exchange.retention.models import RetentionRuleChange


def test_the_retention_and_forecast_pages_show_the_waiting_change(
    app: Flask, instance: Instance, world: World
) -> None:
    with transaction(instance.sessions) as session:
        session.get(Pupil, world.pupil_id).date_of_birth = date(date.today().year - 28, 1, 1)
        recompute_pupil(session, world.sender_id, world.pupil_id)
    dsl = app.test_client()
    sign_in(dsl, instance, world.user("sender", "dsl"))
    post(dsl, "/retention/rules", {"path": "default", "rule": "dob+30y"})  # Longer: at once.
    dpo = app.test_client()
    sign_in(dpo, instance, world.user("sender", "dpo"))
    page = dpo.get("/retention").get_data(as_text=True)
    assert "Due only because of a waiting rule change" not in page
    post(dpo, "/retention/rules", {"path": "default", "rule": "dob+26y"})  # Shorter: waits.
    with instance.sessions() as session:
        change = session.scalars(select(RetentionRuleChange)).one()
    assert change.state == "pending"
    page = dpo.get("/retention").get_data(as_text=True)
    assert "Due only because of a waiting rule change" in page
    assert f"Waiting change {change.id}" in page
    assert "Nothing is due." in page  # Nothing is due under today's rules.
    period = f"from={date.today().isoformat()}&to={change.effective_on.isoformat()}"
    forecast = dpo.get(f"/dpo/forecast?{period}").get_data(as_text=True)
    assert f"Waiting change {change.id}" in forecast
    assert "Nothing becomes due in this period." in forecast
