"""A follow-up sends only what is new or changed; the receiver merges it and files by category."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from transfer_kit import Pair, accept_offer, actor, run_transfer, start_review

from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import find_partner
from exchange.policy.incoming import mapped_category, set_mapping
from exchange.policy.service import transfer_class_of
from exchange.records.models import Incident, IncidentAction, Pupil, School, VaultDocument
from exchange.transfers import incoming, states, workflow
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import deliver, partner_url, send_countersignature
from exchange.transfers.models import INCOMING, Transfer


def _received_incidents(instance: Instance, pair: Pair, uid: str) -> list[Incident]:
    with instance.sessions() as session:
        got = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        found = session.scalars(select(Incident).where(Incident.pupil_id == got.pupil_id)).all()
        for incident in found:
            _ = [c.path for c in incident.categories], [a.text for a in incident.actions]
            _ = [e.new_value for e in incident.edits]
        session.expunge_all()
        return list(found)


def _follow_up(instance: Instance, pair: Pair, transport: WsgiTransport) -> tuple[int, str]:
    """Create, review, offer, accept, authorise and deliver a second transfer; return it."""
    with transaction(instance.sessions) as session:
        sender = session.get(School, pair.sender_id)
        partner = find_partner(session, sender.id, session.get(School, pair.receiver_id).urn)
        dsl = actor(session, pair.sender_dsl_id)
        transfer = workflow.start(
            session,
            instance,
            sender,
            "create",
            dsl,
            pupil=session.get(Pupil, pair.pupil_id),
            partner=partner,
            today=date(2026, 11, 25),
        )
        chosen = {(item.kind, item.included) for item in transfer.items}
        assert ("document", False) in chosen  # The minutes were sent before, unchanged.
        assert ("incident", True) in chosen  # The narrative was edited since.
        start_review(session, instance, transfer, dsl)
        offer = workflow.apply(session, instance, transfer, "offer", dsl)
        transfer_id, uid = transfer.id, transfer.transfer_uid
        url = partner_url(transfer, "offers")
    assert transport.post(url, offer).status == 202
    response = accept_offer(instance, pair, uid)
    with instance.sessions() as session:
        back = partner_url(
            incoming.find_transfer(session, pair.receiver_id, uid, INCOMING), "offer-responses"
        )
    assert transport.post(back, response).status == 200
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, pair.sender_dsl_id)
        workflow.apply(
            session,
            instance,
            transfer,
            "record_conversation",
            dsl,
            held_on=transfer.created_at.date(),
            participants="Dsl 1, Dsl 2",
            summary="Follow-up: the narrative was corrected.",
        )
        workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=True)
    for step in (deliver, send_countersignature):
        with transaction(instance.sessions) as session:
            step(session, instance, session.get(Transfer, transfer_id), transport)
    return transfer_id, uid


def test_records_are_filed_under_the_receivers_own_category_of_the_same_class(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    first = run_transfer(instance, pair, transport)
    with instance.sessions() as session:
        uid = session.get(Transfer, first).transfer_uid
    (received,) = _received_incidents(instance, pair, uid)
    assert [c.path for c in received.categories] == ["Peer on peer abuse/Bullying Allegation"]
    assert received.source_category == "Bullying Allegation"
    assert not received.narrative.startswith("[")  # No label glued into the narrative.
    with instance.sessions() as session:
        category = (
            session.scalars(select(Incident).where(Incident.id == received.id)).one().categories[0]
        )
        assert transfer_class_of(category) == "bullying"


def test_a_follow_up_sends_only_the_change_and_the_receiver_merges_it(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    first = run_transfer(instance, pair, transport)
    with transaction(instance.sessions) as session:
        incident = session.scalars(select(Incident).where(Incident.pupil_id == pair.pupil_id)).one()
        incident.narrative = incident.narrative + " Corrected: it happened at lunch, not break."
        session.add(
            IncidentAction(
                school_id=pair.sender_id,
                incident_id=incident.id,
                text="Parents told of the correction.",
                acted_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
            )
        )
        first_uid = session.get(Transfer, first).transfer_uid
    second, second_uid = _follow_up(instance, pair, transport)
    with instance.sessions() as session:
        assert session.get(Transfer, second).state == states.CLOSED
        got = incoming.find_transfer(session, pair.receiver_id, second_uid, INCOMING)
        pupil_id = got.pupil_id
        documents = session.scalars(
            select(VaultDocument.original_filename).where(VaultDocument.pupil_id == pupil_id)
        ).all()
    assert len(documents) == 3  # Two chronologies (one per transfer) and the minutes once.
    incidents = _received_incidents(instance, pair, first_uid)
    assert len(incidents) == 1  # Merged, not duplicated.
    (merged,) = incidents
    assert "Corrected: it happened at lunch" in merged.narrative
    assert [e.field for e in merged.edits] == ["narrative"]  # The earlier text is kept.
    assert "Corrected" not in merged.edits[0].previous_value
    texts = [action.text for action in merged.actions]
    assert len(texts) == 2
    assert texts.count("Parents told of the correction.") == 1


def test_an_explicit_mapping_wins_over_the_default(instance: Instance, pair: Pair) -> None:
    with transaction(instance.sessions) as session:
        receiver = session.get(School, pair.receiver_id)
        assert mapped_category(session, receiver, "bullying").path.endswith("Bullying Allegation")
        set_mapping(session, receiver, "bullying", "Child Protection Incident")
        assert mapped_category(session, receiver, "bullying").path == "Child Protection Incident"
        assert mapped_category(session, receiver, "not_a_class") is None
