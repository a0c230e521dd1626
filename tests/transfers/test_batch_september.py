"""September: 200 children from 30 primaries offered, accepted in batch and imported at one
secondary."""

from __future__ import annotations

from datetime import date

import pytest
from batch_kit import make_leavers, post_answers, post_offers, put_on_roll
from sqlalchemy import func, select
from transfer_kit import actor, introduce, school_with_keys

from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import find_partner
from exchange.records.models import Incident, Pupil, School, User
from exchange.transfers import batch as batches
from exchange.transfers import states
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import deliver
from exchange.transfers.models import INCOMING, OUTGOING, Transfer, TransferBatch
from exchange.transfers.settings import update_settings

SENDERS = 30
CHILDREN = 200


def _dsl_id(session, school_id: int) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(User.id).filter_by(school_id=school_id, role="dsl"))


@pytest.mark.slow
def test_200_children_from_30_schools_are_accepted_in_one_form_and_imported(
    instance: Instance, transport: WsgiTransport
) -> None:
    url = instance.config["PUBLIC_URL"]
    with transaction(instance.sessions) as session:
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        senders = [school_with_keys(session, instance, 3 + n, "bretherton") for n in range(SENDERS)]
        for sender in senders[1:]:  # Most schools talk only about flagged children (CP, CIN, LAC).
            update_settings(sender, conversation_required="flagged")
        batch_ids = []
        for number, sender in enumerate(senders):
            introduce(session, sender, receiver, url)
            introduce(session, receiver, sender, url)
            share = range(number * CHILDREN // SENDERS, (number + 1) * CHILDREN // SENDERS)
            leavers = make_leavers(session, sender, (n + 1 for n in share))
            put_on_roll(session, receiver, leavers)
            partner = find_partner(session, sender.id, receiver.urn)
            batch, outcomes = batches.create_batch(
                session,
                instance,
                sender,
                actor(session, _dsl_id(session, sender.id)),
                [(leaver, partner) for leaver in leavers],
                source="list",
            )
            assert all(o.done and not o.message for o in outcomes), outcomes
            batch_ids.append(batch.id)
        receiver_id, receiver_dsl = receiver.id, _dsl_id(session, receiver.id)
        sent = session.scalars(select(Transfer.id).where(Transfer.direction == OUTGOING)).all()
    assert len(sent) == CHILDREN
    post_offers(instance, transport, sent)
    with transaction(instance.sessions) as session:
        offers = session.scalars(
            select(Transfer).where(
                Transfer.school_id == receiver_id, Transfer.direction == INCOMING
            )
        ).all()
        groups = {(t.partner_id, t.batch_id) for t in offers}
        assert len(groups) == SENDERS  # One batch from each sending school.
        outcomes = batches.answer_offers(
            session,
            instance,
            actor(session, receiver_dsl),
            [batches.Answer(t, "accept", True) for t in offers],
        )
        assert all(o.done for o in outcomes)
        uids = [t.transfer_uid for t in offers]
    post_answers(instance, transport, receiver_id, uids)
    for batch_id in batch_ids:
        with transaction(instance.sessions) as session:
            batch = session.get(TransferBatch, batch_id)
            dsl = actor(session, _dsl_id(session, batch.school_id))
            mine = batches.batch_transfers(session, batch)
            school = session.get(School, batch.school_id)
            talks = [
                batches.Conversation(t, date.today(), "Both DSLs", "No concerns beyond the file.")
                for t in batches.needing_conversation(session, instance, school, dsl, mine)
            ]
            assert len(talks) == (len(mine) if batch_id == batch_ids[0] else 0)
            assert all(o.done for o in batches.record_conversations(session, instance, dsl, talks))
            authorised = batches.take_each(
                session, instance, mine, "authorise", dsl, fresh_second_factor=True
            )
            assert all(o.done for o in authorised), authorised
    for transfer_id in sent:  # The receiver imports each bundle and signs its receipt.
        with transaction(instance.sessions) as session:
            deliver(session, instance, session.get(Transfer, transfer_id), transport)
    with instance.sessions() as session:
        imported = session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.state == states.RECEIPTED)
        )
        assert imported == 2 * CHILDREN  # Imported and receipted on both sides.
        on_roll = session.scalar(
            select(func.count()).select_from(Pupil).where(Pupil.school_id == receiver_id)
        )
        assert on_roll == CHILDREN  # Each file joined the child already on the roll.
        children_with_files = session.scalar(
            select(func.count(func.distinct(Incident.pupil_id))).where(
                Incident.school_id == receiver_id
            )
        )
        assert children_with_files == CHILDREN
