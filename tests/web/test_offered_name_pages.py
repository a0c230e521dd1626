"""The receiving DSL sees the offered child's name (protocol 1.3); the DPO never does."""

from __future__ import annotations

from flask import Flask
from flow import incoming_id, start_and_offer
from web_kit import World, sign_in

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Pupil
from exchange.transfers.models import Transfer

HOSTILE = ('<script>alert("x")</script>', "O'Brien & <b>Sons</b>")


def _offered(app: Flask, instance: Instance, world: World) -> int:
    sender = app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sent = start_and_offer(sender, instance, world.sender_id, world.receiver_id, world.pupil_id)
    return incoming_id(instance, world.receiver_id, sent)


def _child(instance: Instance, world: World) -> tuple[str, str, str]:
    with instance.sessions() as session:
        pupil = session.get(Pupil, world.pupil_id)
        return f"{pupil.forename} {pupil.surname}", f"{pupil.date_of_birth:%-d %B %Y}", pupil.upn


def test_the_receiving_dsl_sees_the_name_and_confirms_it_and_the_dpo_does_not(
    app: Flask, instance: Instance, world: World
) -> None:
    received = _offered(app, instance, world)
    name, born, upn = _child(instance, world)
    with instance.sessions() as session:
        assert session.get(Transfer, received).pupil_id is None  # Not on the receiver's roll.
    dsl, dpo = app.test_client(), app.test_client()
    sign_in(dsl, instance, world.user("receiver", "dsl"))
    sign_in(dpo, instance, world.user("receiver", "dpo"))

    page = dsl.get(f"/transfers/{received}").get_data(as_text=True)
    assert f"{name} (as the offer names them)" in page
    assert f"I confirm {name}, born {born}, UPN {upn}, is or will be on our roll" in page
    assert name in dsl.get("/transfers").get_data(as_text=True)
    found = dsl.get(f"/transfers?q={name.split()[-1].lower()}").get_data(as_text=True)
    assert f'href="/transfers/{received}"' in found  # Searched by the name the offer gives.
    batch = dsl.get("/transfers/batches/offers").get_data(as_text=True)
    assert f"{name}, born {born}, UPN {upn}" in batch
    assert f"I confirm {name}, born {born}, UPN {upn}, is or will be on our roll" in batch

    surname = name.split()[-1]
    searched = dpo.get(f"/transfers?q={surname}").get_data(as_text=True)
    assert f'href="/transfers/{received}"' not in searched  # The DPO cannot search by name.
    for path in (f"/transfers/{received}", "/transfers"):
        shown = dpo.get(path)
        assert shown.status_code == 200, path
        assert surname not in shown.get_data(as_text=True), path
    assert upn in dpo.get("/transfers").get_data(as_text=True)  # The DPO keeps the UPN.
    assert dpo.get("/transfers/batches/offers").status_code in (302, 403)


def test_a_hostile_name_is_shown_as_text(app: Flask, instance: Instance, world: World) -> None:
    with transaction(instance.sessions) as session:
        pupil = session.get(Pupil, world.pupil_id)
        pupil.forename, pupil.surname = HOSTILE
    received = _offered(app, instance, world)
    with instance.sessions() as session:
        assert session.get(Transfer, received).offered_name == {
            "given": HOSTILE[0],
            "family": HOSTILE[1],
        }
    dsl = app.test_client()
    sign_in(dsl, instance, world.user("receiver", "dsl"))
    for path in (f"/transfers/{received}", "/transfers", "/transfers/batches/offers"):
        page = dsl.get(path).get_data(as_text=True)
        assert "<script>alert" not in page, path
        assert "<b>Sons</b>" not in page, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page, path
        assert "O&#39;Brien &amp; &lt;b&gt;Sons&lt;/b&gt;" in page, path
