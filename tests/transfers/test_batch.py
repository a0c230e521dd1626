"""Batches: each child's step goes through the workflow on its own, refusals per child."""

from __future__ import annotations

from datetime import UTC, date, datetime

from batch_kit import make_leavers, post_answers, post_offers, put_on_roll
from sqlalchemy import select
from transfer_kit import Pair, actor

from exchange.audit.models import AuditEntry
from exchange.calendar.terms import SchoolCalendar
from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import find_partner
from exchange.records.models import Pupil, School
from exchange.transfers import batch as batches
from exchange.transfers import states
from exchange.transfers.batch_sources import children_from_list
from exchange.transfers.client import WsgiTransport
from exchange.transfers.models import INCOMING, Transfer, TransferBatch
from exchange.transfers.offer_expiry import first_week_of_autumn_ends, offer_expires_at


def _make_batch(instance: Instance, pair: Pair) -> tuple[int, list[int]]:
    with transaction(instance.sessions) as session:
        sender = session.get(School, pair.sender_id)
        receiver = session.get(School, pair.receiver_id)
        leavers = make_leavers(session, sender, range(10, 13))
        put_on_roll(session, receiver, leavers)
        bare = Pupil(
            school_id=sender.id,
            upn="A801200005001",
            forename="Nobody",
            surname="Recorded",
            date_of_birth=date(2015, 1, 1),
        )
        session.add(bare)
        session.flush()
        partner = find_partner(session, sender.id, receiver.urn)
        children, problems = children_from_list(
            session, sender, [p.id for p in leavers] + [bare.id], partner
        )
        batch, outcomes = batches.create_batch(
            session, instance, sender, actor(session, pair.sender_dsl_id), children, source="list"
        )
        assert [o.done for o in outcomes] == [True, True, True, True]
        assert [o.message for o in outcomes][:3] == ["", "", ""]
        assert outcomes[3].message.startswith("Nothing is selected to transfer")
        assert (batch.total, batch.done, problems) == (4, 4, [])
        made = batches.batch_transfers(session, batch)
        assert [t.state for t in made] == [states.OFFERED] * 3 + [states.DRAFT]
        return batch.id, [t.id for t in made[:3]]


def test_a_batch_is_offered_answered_per_child_and_authorised_where_ready(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    batch_id, offered = _make_batch(instance, pair)
    post_offers(instance, transport, offered)
    with transaction(instance.sessions) as session:
        received = session.scalars(
            select(Transfer)
            .where(Transfer.school_id == pair.receiver_id, Transfer.direction == INCOMING)
            .order_by(Transfer.id)
        ).all()
        theirs = session.get(TransferBatch, received[0].batch_id)
        assert {t.batch_id for t in received} == {theirs.id}
        assert (theirs.direction, theirs.total) == (INCOMING, 3)
        assert theirs.batch_uid == session.get(TransferBatch, batch_id).batch_uid
        assert all(t.pupil_id is not None for t in received)  # Matched on the roll.
        dsl = actor(session, pair.receiver_dsl_id)
        outcomes = batches.answer_offers(
            session,
            instance,
            dsl,
            [
                batches.Answer(received[0], "accept", True),
                batches.Answer(received[1], "accept", False),  # On roll not confirmed.
                batches.Answer(received[2], "reject", False, "Not joining us"),
            ],
        )
        assert [o.done for o in outcomes] == [True, False, True]
        assert outcomes[1].message == "Confirm that the child is, or will be, on your roll"
        assert [t.state for t in received] == [states.ACCEPTED, states.OFFERED, states.REJECTED]
        assert received[1].response_jws is None  # Nothing half-applied.
        uids = [received[0].transfer_uid, received[2].transfer_uid]
    post_answers(instance, transport, pair.receiver_id, uids)
    with transaction(instance.sessions) as session:
        sender = session.get(School, pair.sender_id)
        dsl = actor(session, pair.sender_dsl_id)
        mine = batches.batch_transfers(session, session.get(TransferBatch, batch_id))
        assert batches.needing_conversation(session, instance, sender, dsl, mine) == [mine[0]]
        refused = batches.take_each(
            session, instance, mine, "authorise", dsl, fresh_second_factor=True
        )
        assert refused[0].message.startswith("Record the DSL conversation first")
        talks = batches.record_conversations(
            session,
            instance,
            dsl,
            [batches.Conversation(mine[0], date.today(), "Dsl 1, Dsl 2", "Settled; no concerns.")],
        )
        assert [o.done for o in talks] == [True]
        stale = batches.take_each(session, instance, mine, "authorise", dsl)
        assert stale[0].message.startswith("Confirm your second factor again")
        assert mine[0].state == states.CONVERSATION_RECORDED
        outcomes = batches.take_each(
            session, instance, mine, "authorise", dsl, fresh_second_factor=True
        )
        assert [o.done for o in outcomes] == [True, False, False, False]
        assert "while the transfer is offered" in outcomes[1].message
        assert "while the transfer is rejected" in outcomes[2].message
        assert [t.state for t in mine] == [
            states.AUTHORISED,
            states.OFFERED,
            states.REJECTED,
            states.DRAFT,
        ]
        refusals = session.scalars(
            select(AuditEntry.event).where(AuditEntry.event == "transfer.authorise_refused")
        ).all()
        assert len(refusals) == 2  # Refused attempts are kept; the children not at the step not.


def test_a_child_off_the_list_without_a_destination_is_reported(
    instance: Instance, pair: Pair
) -> None:
    with transaction(instance.sessions) as session:
        sender = session.get(School, pair.sender_id)
        leavers = make_leavers(session, sender, [20])
        children, problems = children_from_list(session, sender, [leavers[0].id], None)
        assert children == []
        assert problems == [(leavers[0].upn, "no destination is recorded: choose the school")]
        leavers[0].destination_urn = session.get(School, pair.receiver_id).urn
        children, problems = children_from_list(session, sender, [leavers[0].id], None)
        assert [partner.urn for _, partner in children] == [leavers[0].destination_urn]


def test_offers_made_in_july_last_until_the_first_week_of_the_autumn_term_ends(
    instance: Instance, pair: Pair
) -> None:
    calendar = SchoolCalendar()
    # The estimated autumn term 2027 starts on Monday 6 September; its fifth day is Friday 10.
    end_of_first_week = datetime(2027, 9, 11, tzinfo=UTC)
    for made in (datetime(2027, 7, 1, 9, tzinfo=UTC), datetime(2027, 8, 31, 9, tzinfo=UTC)):
        assert first_week_of_autumn_ends(calendar, made) == end_of_first_week
    for made in (datetime(2027, 6, 30, 9, tzinfo=UTC), datetime(2027, 9, 6, 9, tzinfo=UTC)):
        assert first_week_of_autumn_ends(calendar, made) is None
    with instance.sessions() as session:
        school = session.get(School, pair.sender_id)
        assert offer_expires_at(school, datetime(2027, 7, 20, tzinfo=UTC)) == end_of_first_week
        assert offer_expires_at(school, datetime(2027, 6, 1, tzinfo=UTC)) == datetime(
            2027, 6, 15, tzinfo=UTC
        )
        assert offer_expires_at(school, datetime(2027, 9, 7, tzinfo=UTC)) == datetime(
            2027, 9, 21, tzinfo=UTC
        )


def test_an_offer_whose_batch_id_is_not_a_uuid_stands_alone(instance: Instance, pair: Pair) -> None:
    from exchange.transfers.batch_offers import join_incoming_batch

    with transaction(instance.sessions) as session:
        transfer = Transfer(school_id=pair.receiver_id, partner_id=1)
        assert join_incoming_batch(session, transfer, {"id": "../../etc"}) is None
        assert join_incoming_batch(session, transfer, "not an object") is None
