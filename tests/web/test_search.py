"""Search, filter and sort the transfers; find a child by name or UPN."""

from __future__ import annotations

from flask import Flask
from flow import partner_id, post, start_and_offer
from sqlalchemy import select
from transfer_kit import OTHER_CHILD, SUBJECT
from web_kit import World, sign_in

from exchange.instance import Instance
from exchange.records.models import Pupil
from exchange.transfers.models import Transfer


def _two_transfers(app: Flask, instance: Instance, world: World):  # type: ignore[no-untyped-def]
    """Offer the leaver's file and start a draft for the other child; return the DSL's client."""
    dsl = app.test_client()
    sign_in(dsl, instance, world.user("sender", "dsl"))
    offered = start_and_offer(dsl, instance, world.sender_id, world.receiver_id, world.pupil_id)
    with instance.sessions() as session:
        other = session.scalar(
            select(Pupil.id).where(Pupil.school_id == world.sender_id, Pupil.id != world.pupil_id)
        )
        upns = {p.id: p.upn for p in session.scalars(select(Pupil))}
    post(
        dsl,
        f"/transfers/new/{other}",
        {"partner_id": str(partner_id(instance, world.sender_id, world.receiver_id))},
    )
    with instance.sessions() as session:
        draft = session.scalar(select(Transfer.id).where(Transfer.pupil_id == other))
    return dsl, offered, draft, upns[world.pupil_id], upns[other]


def _ids(page: str) -> set[int]:
    import re

    return {int(i) for i in re.findall(r'href="/transfers/(\d+)"', page)}


def test_a_dsl_finds_transfers_by_name_upn_school_state_and_direction(
    app: Flask, instance: Instance, world: World
) -> None:
    dsl, offered, draft, upn, _other_upn = _two_transfers(app, instance, world)

    def found(query: str) -> set[int]:
        return _ids(dsl.get(f"/transfers?{query}").get_data(as_text=True))

    assert found("") == {offered, draft}
    assert found(f"q={SUBJECT[1].lower()}") == {offered}
    assert found(f"q={OTHER_CHILD[0]}") == {draft}
    assert found(f"q={upn.lower()}") == {offered}
    assert found("state=draft") == {draft}
    assert found("state=offered&q=" + OTHER_CHILD[1]) == set()
    assert found("direction=incoming") == set()
    assert found("school=school+2") == {offered, draft}
    assert found("school=nowhere") == set()
    page = dsl.get("/transfers?q=nobody").get_data(as_text=True)
    assert page.count("No transfer matches.") == 2
    assert 'value="nobody"' in page  # What was typed stays in the box.
    assert 'value="draft" selected' in dsl.get("/transfers?state=draft").get_data(as_text=True)
    by_child = dsl.get("/transfers?sort=child").get_data(as_text=True)
    first, second = sorted([SUBJECT, OTHER_CHILD], key=lambda n: f"{n[0]} {n[1]}".casefold())
    assert by_child.index(f"{first[0]} {first[1]}") < by_child.index(f"{second[0]} {second[1]}")
    newest = dsl.get("/transfers?sort=newest&direction=outgoing").get_data(as_text=True)
    assert newest.index(f'/transfers/{draft}"') < newest.index(f'/transfers/{offered}"')
    assert "Incoming offers and files" not in newest
    unknown = dsl.get("/transfers?sort=evil&direction=sideways&due=never")
    assert unknown.status_code == 200
    assert _ids(unknown.get_data(as_text=True)) == {offered, draft}


def test_the_dpo_searches_by_upn_only_and_sees_no_names(
    app: Flask, instance: Instance, world: World
) -> None:
    _dsl, offered, _draft, upn, _ = _two_transfers(app, instance, world)
    dpo = app.test_client()
    sign_in(dpo, instance, world.user("sender", "dpo"))
    by_name = dpo.get(f"/transfers?q={SUBJECT[1]}").get_data(as_text=True)
    assert _ids(by_name) == set()
    page = dpo.get(f"/transfers?q={upn}").get_data(as_text=True)
    assert _ids(page) == {offered}
    for name in (*SUBJECT, *OTHER_CHILD):
        assert name not in page


def test_a_dsl_finds_any_child_by_name_or_upn(app: Flask, instance: Instance, world: World) -> None:
    dsl = app.test_client()
    sign_in(dsl, instance, world.user("sender", "dsl"))
    with instance.sessions() as session:
        upn = session.get(Pupil, world.pupil_id).upn
    by_name = dsl.get(f"/pupils?q={SUBJECT[1][:4].lower()}").get_data(as_text=True)
    assert f"/pupils/{world.pupil_id}" in by_name
    assert OTHER_CHILD[1] not in by_name
    by_upn = dsl.get(f"/pupils?q={upn[:4]} {upn[4:].lower()}").get_data(as_text=True)
    assert "1 child found" in by_upn
    assert f"/pupils/{world.pupil_id}" in by_upn
    assert "No child matches." in dsl.get("/pupils?q=zzzz").get_data(as_text=True)
    receiver = app.test_client()
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    other_school = receiver.get(f"/pupils?q={SUBJECT[1]}").get_data(as_text=True)
    assert "No child matches." in other_school
    dpo = app.test_client()
    sign_in(dpo, instance, world.user("sender", "dpo"))
    assert dpo.get(f"/pupils?q={SUBJECT[1]}").status_code == 403
