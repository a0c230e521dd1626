"""Transfers can be started from a DfE Common Transfer File."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from exchange.db import transaction
from exchange.errors import NotFound
from exchange.instance import Instance
from exchange.packaging.keys import generate_keys
from exchange.partners.service import enrol_partner, own_card
from exchange.policy.service import apply_preset
from exchange.records.ctf import import_ctf
from exchange.records.models import School
from exchange.records.schools import add_school, add_user
from exchange.transfers.actors import Actor
from exchange.transfers.from_ctf import transfers_from_ctf

SAMPLE = Path(__file__).parents[1] / "assets" / "imports" / "ctf" / "sample.xml"


def test_each_pupil_of_a_ctf_gets_a_draft_to_its_destination(instance: Instance) -> None:
    with transaction(instance.sessions) as session:
        sender = add_school(session, "100001", "8012001", "Meadowbank Primary School")
        receiver = add_school(session, "100002", "8014002", "Hillcrest Academy")
        for school in (sender, receiver):
            generate_keys(session, school.id, instance.instance_key)
            apply_preset(session, school, "bretherton")
        dsl = Actor.of(add_user(session, sender, "dsl", "Dsl One", "dsl@example.org"))
        sender_id = sender.id
    import_ctf(instance, sender_id, SAMPLE)
    with transaction(instance.sessions) as session:
        sender = session.get(School, sender_id)
        with pytest.raises(NotFound, match="not in the directory"):
            transfers_from_ctf(session, sender, dsl, SAMPLE)
    with transaction(instance.sessions) as session:
        sender = session.get(School, sender_id)
        receiver = session.scalar(select(School).filter_by(urn="100002"))
        enrol_partner(
            session, sender.id, own_card(session, receiver, "https://hillcrest.example.org")
        )
        made = transfers_from_ctf(session, sender, dsl, SAMPLE)
        assert made
        assert {t.partner.laestab for t in made} == {"8014002"}
        assert all(t.state == "draft" for t in made)


def test_a_ctf_with_no_destination_starts_the_missing_education_route(
    instance: Instance, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.xml"
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace(
        "<LEA>801</LEA>\n      <Estab>4002</Estab>", "<LEA>MMM</LEA>\n      <Estab>MMMM</Estab>"
    )
    missing.write_text(text.replace("<URN>100002</URN>\n", ""), encoding="utf-8")
    with transaction(instance.sessions) as session:
        sender = add_school(session, "100001", "8012001", "Meadowbank Primary School")
        generate_keys(session, sender.id, instance.instance_key)
        apply_preset(session, sender, "bretherton")
        dsl = Actor.of(add_user(session, sender, "dsl", "Dsl One", "dsl@example.org"))
        sender_id = sender.id
    import_ctf(instance, sender_id, SAMPLE)
    with transaction(instance.sessions) as session:
        made = transfers_from_ctf(session, session.get(School, sender_id), dsl, missing)
        assert made
        assert {t.partner.kind for t in made} == {"unknown"}
        assert {t.route for t in made} == {"offline"}
