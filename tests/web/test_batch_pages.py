"""Batch pages through the test client: made from the list or a CTF, offers answered per child."""

from __future__ import annotations

import io
from datetime import date

from batch_kit import leaver_name, make_leavers, put_on_roll
from flask import Flask
from flow import csrf_token, post
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Pupil, School
from exchange.records.upn import make_upn
from exchange.transfers import states
from exchange.transfers.models import INCOMING, Transfer, TransferBatch


def _leavers(instance: Instance, world: World, numbers: range) -> list[int]:
    with transaction(instance.sessions) as session:
        sender = session.get(School, world.sender_id)
        receiver = session.get(School, world.receiver_id)
        leavers = make_leavers(session, sender, numbers)
        for leaver in leavers:
            leaver.destination_urn = receiver.urn
        put_on_roll(session, receiver, leavers)
        return [leaver.id for leaver in leavers]


def test_a_batch_from_the_list_is_offered_and_answered_in_one_form(
    app: Flask, instance: Instance, world: World
) -> None:
    ids = _leavers(instance, world, range(40, 43))
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    page = sender.get("/transfers/batches/new").get_data(as_text=True)
    forename, surname = leaver_name(40)
    assert f"{forename} {surname}" in page
    body = post(sender, "/transfers/batches/new", {"source": "list"}, status=400)
    assert "Tick at least one leaver" in body
    response = sender.post(
        "/transfers/batches/new",
        data={"csrf_token": csrf_token(sender), "source": "list", "pupil_id": ids, "offer": "yes"},
        follow_redirects=True,  # The task (run inline here) made them before the redirect.
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert "3 of 3 children went ahead" in response.get_data(as_text=True)
    with instance.sessions() as session:
        offers = session.scalars(
            select(Transfer)
            .where(Transfer.school_id == world.receiver_id, Transfer.direction == INCOMING)
            .order_by(Transfer.id)
        ).all()
        assert len(offers) == 3  # Sent by the offer task, run inline.
        first, second, third = (t.id for t in offers)
    page = receiver.get("/transfers/batches/offers").get_data(as_text=True)
    assert "Flow School 1: batch of 3, 3 waiting" in page
    assert f"I confirm {forename} {surname}, born 11 October 2015" in page
    assert sender.get("/transfers/batches/offers").status_code == 200  # Any DSL may answer.
    body = post(
        receiver,
        "/transfers/batches/offers",
        {
            f"decision-{first}": "accept",
            f"on_roll-{first}": "yes",
            f"decision-{second}": "accept",  # The roll not confirmed: refused for this child.
            f"decision-{third}": "reject",
            f"reason-{third}": "Joining another school",
        },
        status=200,
    )
    assert "2 answers sent" in body
    assert "Confirm that the child is, or will be, on your roll" in body
    with instance.sessions() as session:
        assert [session.get(Transfer, i).state for i in (first, second, third)] == [
            states.ACCEPTED,
            states.OFFERED,
            states.REJECTED,
        ]
        batch = session.scalar(select(TransferBatch).where(TransferBatch.school_id == 1))
        batch_id = batch.id
    page = sender.get(f"/transfers/batches/{batch_id}").get_data(as_text=True)
    assert "Record the 1 DSL conversation needed" in page
    body = post(
        sender,
        f"/transfers/batches/{batch_id}/conversations",
        {"held_on-1": "not a date"},
        status=400,
    )
    with instance.sessions() as session:
        mine = session.scalars(select(Transfer).where(Transfer.batch_id == batch_id)).all()
        accepted = next(t.id for t in mine if t.state == states.ACCEPTED)
    body = post(
        sender,
        f"/transfers/batches/{batch_id}/conversations",
        {
            f"held_on-{accepted}": date.today().isoformat(),
            f"participants-{accepted}": "Dsl 1, Dsl 2",
            f"summary-{accepted}": "Settled; needs a quiet start.",
        },
        status=200,
    )
    assert "Conversations recorded" in body
    authorise = sender.get(f"/transfers/batches/{batch_id}/authorise").get_data(as_text=True)
    assert "Ready: 1 child" in authorise
    assert "is not possible while the transfer is rejected" in authorise
    body = post(sender, f"/transfers/batches/{batch_id}/authorise", {"confirm": "yes"}, status=200)
    assert "Authorised where ready" in body
    with instance.sessions() as session:
        assert session.get(Transfer, accepted).state != states.ACCEPTED


def test_a_dpo_cannot_open_the_batch_pages(app: Flask, instance: Instance, world: World) -> None:
    dpo = app.test_client()
    sign_in(dpo, instance, world.user("sender", "dpo"))
    assert dpo.get("/transfers/batches/new").status_code == 403
    assert dpo.get("/transfers/batches/offers").status_code == 403


def test_a_batch_from_a_ctf_names_the_children_it_could_not_start(
    app: Flask, instance: Instance, world: World
) -> None:
    ids = _leavers(instance, world, range(50, 52))
    with instance.sessions() as session:
        school = session.get(School, world.sender_id)
        pupils = [session.get(Pupil, i) for i in ids]
        receiver = session.get(School, world.receiver_id)
        rows = "".join(
            f"<Pupil><UPN>{p.upn}</UPN><Surname>{p.surname}</Surname><Forename>{p.forename}"
            f"</Forename><DOB>{p.date_of_birth.isoformat()}</DOB><Sex>F</Sex></Pupil>"
            for p in pupils
        )
        stranger = make_upn(school.laestab, 26, 999)
        rows += (
            f"<Pupil><UPN>{stranger}</UPN><Surname>Unknown</Surname><Forename>Nobody"
            "</Forename><DOB>2015-01-01</DOB><Sex>F</Sex></Pupil>"
        )
        ctf = (
            f"<CTfile><Header><DocumentName>Common Transfer File</DocumentName>"
            f"<CTFversion>22.0</CTFversion><DateTime>2027-07-20T10:00:00</DateTime>"
            f"<DocumentQualifier>full</DocumentQualifier><SupplierID>T</SupplierID>"
            f"<SourceSchool><LEA>{school.laestab[:3]}</LEA><Estab>{school.laestab[3:]}</Estab>"
            f"<URN>{school.urn}</URN><SchoolName>{school.name}</SchoolName>"
            f"<AcademicYear>2026</AcademicYear></SourceSchool>"
            f"<DestSchool><LEA>{receiver.laestab[:3]}</LEA><Estab>{receiver.laestab[3:]}</Estab>"
            f"<URN>{receiver.urn}</URN></DestSchool></Header>"
            f"<CTFpupilData>{rows}</CTFpupilData></CTfile>"
        )
    sender = app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    response = sender.post(
        "/transfers/batches/new",
        data={
            "csrf_token": csrf_token(sender),
            "source": "ctf",
            "ctf": (io.BytesIO(ctf.encode()), "leavers.xml"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:3000]
    assert "2 of 3 children went ahead" in body
    assert f"UPN {stranger}, not started: CTFpupilData/Pupil[3]: no pupil with this UPN" in body
