"""Starting a transfer to a destination without the service, or to nobody known, in the pages."""

from __future__ import annotations

from flask import Flask
from flow import post
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.instance import Instance
from exchange.partners.models import Partner
from exchange.transfers.models import Transfer

SCOTTISH = {
    "kind": "scottish_school",
    "name": "Example Academy",
    "identifier": "5244439",
    "contact_name": "Sam Jones",
    "contact_email": "dsl@academy.example",
    "contact_phone": "01000 000000",
}


def _latest(instance: Instance, school_id: int) -> Transfer:
    with instance.sessions() as session:
        transfer = session.scalar(
            select(Transfer).where(Transfer.school_id == school_id).order_by(Transfer.id.desc())
        )
        session.expunge(transfer)
        return transfer


def test_a_dsl_starts_a_transfer_to_a_scottish_school_and_mistakes_keep_the_form(
    app: Flask, instance: Instance, world: World
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    page = client.get(f"/pupils/{world.pupil_id}").get_data(as_text=True)
    assert f"/transfers/new/{world.pupil_id}/elsewhere" in page
    wrong = post(
        client,
        f"/transfers/new/{world.pupil_id}/elsewhere",
        {**SCOTTISH, "identifier": "52444"},
        status=400,
    )
    assert "7-digit SEED code" in wrong
    assert 'href="#identifier"' in wrong
    assert 'value="Example Academy"' in wrong  # What was typed is kept.
    assert 'value="scottish_school" checked' in wrong
    post(client, f"/transfers/new/{world.pupil_id}/elsewhere", SCOTTISH)
    transfer = _latest(instance, world.sender_id)
    assert transfer.route == "offline"
    shown = client.get(f"/transfers/{transfer.id}").get_data(as_text=True)
    assert "scottish_school:5244439" in shown


def test_an_unknown_destination_blocks_the_file_until_it_is_set(
    app: Flask, instance: Instance, world: World
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    post(client, f"/transfers/new/{world.pupil_id}/elsewhere", {"kind": "unknown"})
    transfer = _latest(instance, world.sender_id)
    page = client.get(f"/transfers/{transfer.id}").get_data(as_text=True)
    assert "destination is unknown" in page
    assert f"/transfers/{transfer.id}/destination" in page
    post(client, f"/transfers/{transfer.id}/destination", SCOTTISH)
    with instance.sessions() as session:
        moved = session.get(Transfer, transfer.id)
        partner = session.get(Partner, moved.partner_id)
        assert (partner.kind, partner.identifier) == ("scottish_school", "5244439")


def test_another_schools_dsl_cannot_use_the_pages(
    app: Flask, instance: Instance, world: World
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("receiver", "dsl"))
    assert client.get(f"/transfers/new/{world.pupil_id}/elsewhere").status_code == 404
    dpo = app.test_client()
    sign_in(dpo, instance, world.user("sender", "dpo"))
    assert dpo.get(f"/transfers/new/{world.pupil_id}/elsewhere").status_code == 403
