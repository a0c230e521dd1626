"""The DPO's retention page: the review of the due list, rule changes and their refusals."""

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
from exchange.retention.models import DisposalReview, RetentionRuleChange


def _due(instance: Instance, world: World) -> None:
    with transaction(instance.sessions) as session:
        session.get(Pupil, world.pupil_id).date_of_birth = date(1990, 1, 1)
        recompute_pupil(session, world.sender_id, world.pupil_id)


def test_the_dpo_approves_a_pupil_in_the_web_and_a_dsl_cannot(
    app: Flask, instance: Instance, world: World
) -> None:
    _due(instance, world)
    url = f"/retention/review/{world.pupil_id}"
    dsl = app.test_client()
    sign_in(dsl, instance, world.user("sender", "dsl"))
    assert "Record decision" not in dsl.get("/retention").get_data(as_text=True)
    post(dsl, url, {"decision": "destroy"}, status=403)
    dpo = app.test_client()
    sign_in(dpo, instance, world.user("sender", "dpo"))
    assert "Record decision" in dpo.get("/retention").get_data(as_text=True)
    post(dpo, url, {"decision": "destroy"})
    assert "Approved" in dpo.get("/retention").get_data(as_text=True)
    with instance.sessions() as session:
        review = session.scalars(select(DisposalReview)).one()
    assert review.decided_by_user_id == world.user("sender", "dpo")
    assert review.record_ids["incident"]


def test_rule_changes_in_the_web_keep_to_the_floor_and_the_notice(
    app: Flask, instance: Instance, world: World
) -> None:
    dsl = app.test_client()
    sign_in(dsl, instance, world.user("sender", "dsl"))
    body = post(dsl, "/retention/rules", {"path": "default", "rule": "dob+2y"}, status=400)
    assert "25th birthday" in body
    post(dsl, "/retention/rules", {"path": "default", "rule": "dob+30y"})
    body = post(dsl, "/retention/rules", {"path": "default", "rule": "dob+26y"}, status=400)
    assert "Only the DPO" in body
    dpo = app.test_client()
    sign_in(dpo, instance, world.user("sender", "dpo"))
    post(dpo, "/retention/rules", {"path": "default", "rule": "dob+26y"})
    with instance.sessions() as session:
        change = session.scalars(select(RetentionRuleChange)).one()
    assert change.state == "pending"
    assert "takes effect on" in dpo.get("/retention").get_data(as_text=True)
