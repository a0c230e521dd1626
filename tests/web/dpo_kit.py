"""A school's year for the DPO's tools: a view, a transfer with a receipt, a hold, a purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Flask
from flow import complete, post, start_and_offer
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Pupil
from exchange.records.sealed_reads import pupil_upns
from exchange.retention.assign import recompute_pupil
from exchange.retention.models import DisposalCertificate
from exchange.retention.purge import purge_school


@dataclass
class Year:
    """What happened: the leaving child's UPN, the transfer's id, the other child's UPN."""

    subject_upn: str
    other_upn: str
    other_id: int
    transfer_id: int
    received_id: int
    certificate_id: int


def play_year(app: Flask, instance: Instance, world: World) -> Year:
    """DSL views the child and sends the file; the DPO approves its destruction; purge runs."""
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    assert sender.get(f"/pupils/{world.pupil_id}").status_code == 200
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    received_id = complete(sender, receiver, instance, world.receiver_id, transfer_id)
    with transaction(instance.sessions) as session:
        other_id = session.scalar(
            select(Pupil.id).where(Pupil.school_id == world.sender_id, Pupil.id != world.pupil_id)
        )
        upns = pupil_upns(session, [world.pupil_id, other_id])
        session.get(Pupil, world.pupil_id).date_of_birth = date(1990, 1, 1)
        recompute_pupil(session, world.sender_id, world.pupil_id)
    dpo = app.test_client()
    sign_in(dpo, instance, world.user("sender", "dpo"))
    post(dpo, f"/retention/review/{world.pupil_id}", {"decision": "destroy"})
    result = purge_school(instance.sessions, instance.blobs, instance.instance_key, world.sender_id)
    assert result.certificate_ids, result
    with instance.sessions() as session:
        assert session.get(DisposalCertificate, result.certificate_ids[0]) is not None
        assert session.get(Pupil, world.pupil_id) is None  # The whole file is gone.
    return Year(
        upns[world.pupil_id], upns[other_id], other_id, transfer_id, received_id,
        result.certificate_ids[0],
    )  # fmt: skip
