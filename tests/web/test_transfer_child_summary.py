"""Transfer pages name the child for the school's DSLs, and never for the DPO."""

from __future__ import annotations

from flask import Flask
from flow import start_and_offer
from web_kit import World, sign_in

from exchange.instance import Instance
from exchange.records.models import Pupil


def test_the_dsl_sees_the_childs_name_and_the_dpo_does_not(
    app: Flask, instance: Instance, world: World
) -> None:
    dsl, dpo = app.test_client(), app.test_client()
    sign_in(dsl, instance, world.user("sender", "dsl"))
    sign_in(dpo, instance, world.user("sender", "dpo"))
    transfer_id = start_and_offer(dsl, instance, world.sender_id, world.receiver_id, world.pupil_id)
    with instance.sessions() as session:
        pupil = session.get(Pupil, world.pupil_id)
        name = f"{pupil.forename} {pupil.surname}"
        born = pupil.date_of_birth
    page = dsl.get(f"/transfers/{transfer_id}").get_data(as_text=True)
    assert name in page
    assert f"{born:%-d %B %Y}" in page
    hidden = dpo.get(f"/transfers/{transfer_id}")
    assert hidden.status_code == 200
    assert pupil.surname not in hidden.get_data(as_text=True)
