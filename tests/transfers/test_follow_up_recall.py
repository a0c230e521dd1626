"""A recalled follow-up is undone at the receiver: what it merged goes back too."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select
from transfer_kit import Pair, accept_offer, actor, run_transfer, start_review

from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.instance import Instance
from exchange.outbox.models import OutboxMessage
from exchange.partners.service import find_partner
from exchange.records.history import RESTORED_NOTE
from exchange.records.models import Incident, IncidentAction, Pupil, School
from exchange.transfers import incoming, states, workflow
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import deliver, partner_url, send_countersignature
from exchange.transfers.effects import send_message
from exchange.transfers.import_bundle import (
    KEPT_NOTE,
    RECALLED_TEXT,
    _merge_incident,
    undo_merges,
)
from exchange.transfers.models import INCOMING, Transfer, TransferStep

MARKER = "Quillfeather-7Q recalled phrase."


def _held(instance: Instance, pair: Pair) -> tuple[int, str, list[str]]:
    """Return the receiver's one incident: its id, narrative and action texts."""
    with instance.sessions() as session:
        incident = session.scalars(
            select(Incident).where(Incident.school_id == pair.receiver_id)
        ).one()
        return incident.id, incident.narrative, sorted(a.text for a in incident.actions)


def _texts(instance: Instance, incident_id: int) -> list[str | None]:
    """Return every text the incident holds: its narrative, actions and edit values."""
    with instance.sessions() as session:
        incident = session.get(Incident, incident_id)
        held: list[str | None] = [incident.narrative]
        held += [action.text for action in incident.actions]
        for edit in incident.edits:
            held += [edit.previous_value, edit.new_value]
        return held


def _recalled_follow_up_row(session, received: Transfer) -> Transfer:  # type: ignore[no-untyped-def]
    """Add a second incoming transfer from the same school for the same child."""
    follow = Transfer(
        school_id=received.school_id,
        transfer_uid=str(uuid.uuid4()),
        direction=INCOMING,
        state=states.CLOSED,
        partner_id=received.partner_id,
        pupil_id=received.pupil_id,
        pupil_upn=received.pupil_upn,
    )
    session.add(follow)
    session.flush()
    return follow


def _merge(instance: Instance, pair: Pair, narrative: str) -> tuple[int, int]:
    """Merge a follow-up's narrative and one new action; return the follow-up and incident ids."""
    with transaction(instance.sessions) as session:
        incident = session.scalars(
            select(Incident).where(Incident.school_id == pair.receiver_id)
        ).one()
        received = session.scalars(
            select(Transfer).where(Transfer.school_id == pair.receiver_id).order_by(Transfer.id)
        ).first()
        follow = _recalled_follow_up_row(session, received)
        entry = {
            "narrative": narrative,
            "actions": [{"text": MARKER, "taken_at": "2026-11-24T09:00:00+00:00"}],
        }
        school = session.get(School, pair.receiver_id)
        _merge_incident(session, school, follow, incident, entry)
        session.flush()
        edit = max(incident.edits, key=lambda e: e.id)
        assert (edit.new_value, edit.merged_by_transfer_id) == (narrative, follow.id)
        return follow.id, incident.id


def test_undoing_a_merge_restores_the_value_as_a_visible_edit_and_drops_the_recalled_text(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    run_transfer(instance, pair, transport)
    incident_id, first, actions = _held(instance, pair)
    follow_id, _ = _merge(instance, pair, f"{first} {MARKER}")
    assert MARKER in _texts(instance, incident_id)[0]
    with transaction(instance.sessions) as session:
        undone = undo_merges(session, instance.blobs, session.get(Transfer, follow_id))
    assert (undone.actions, undone.edits, undone.restored, undone.kept) == (1, 1, 1, [])
    assert _held(instance, pair) == (incident_id, first, actions)
    assert not any(MARKER in (text or "") for text in _texts(instance, incident_id))
    with instance.sessions() as session:
        (edit,) = session.get(Incident, incident_id).edits
        assert (edit.field, edit.previous_value, edit.new_value) == (
            "narrative",
            RESTORED_NOTE,
            first,
        )
        assert edit.merged_by_transfer_id is None


def test_a_value_changed_here_after_the_merge_is_kept_and_marked_for_review(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    run_transfer(instance, pair, transport)
    incident_id, first, actions = _held(instance, pair)
    follow_id, _ = _merge(instance, pair, f"{first} {MARKER}")
    with transaction(instance.sessions) as session:
        session.get(Incident, incident_id).narrative = "Rewritten here by our DSL."
    with transaction(instance.sessions) as session:
        undone = undo_merges(session, instance.blobs, session.get(Transfer, follow_id))
    assert (undone.actions, undone.edits, undone.restored) == (1, 1, 0)
    assert undone.kept == [incident_id]
    assert undone.later_edits_cleared == 1
    assert _held(instance, pair) == (incident_id, "Rewritten here by our DSL.", actions)
    assert not any(MARKER in (text or "") for text in _texts(instance, incident_id))
    with instance.sessions() as session:
        edits = sorted(session.get(Incident, incident_id).edits, key=lambda e: e.id)
        values = [(e.field, e.previous_value, e.new_value) for e in edits]
    assert values == [
        ("narrative", RECALLED_TEXT, "Rewritten here by our DSL."),
        ("narrative", KEPT_NOTE, None),
    ]


def test_a_follow_up_recalled_after_a_later_one_leaves_the_later_one_then_the_first_text(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    run_transfer(instance, pair, transport)
    incident_id, first, _actions = _held(instance, pair)
    recalled_id, _ = _merge(instance, pair, f"{first} {MARKER}")
    later_id, _ = _merge(instance, pair, f"{first} A later correction.")
    with transaction(instance.sessions) as session:
        undone = undo_merges(session, instance.blobs, session.get(Transfer, recalled_id))
    assert (undone.restored, undone.superseded, undone.kept) == (0, 1, [])
    assert _held(instance, pair)[1] == f"{first} A later correction."
    assert not any(MARKER in (text or "") for text in _texts(instance, incident_id))
    with instance.sessions() as session:
        (edit,) = session.get(Incident, incident_id).edits
        assert edit.previous_value == first  # As if the recalled follow-up had never come.
    with transaction(instance.sessions) as session:
        undone = undo_merges(session, instance.blobs, session.get(Transfer, later_id))
    assert undone.restored == 1
    assert _held(instance, pair)[1] == first


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


def _act(instance: Instance, user_id: int, transfer_id: int, name: str, **inputs: object) -> None:
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        workflow.apply(session, instance, transfer, name, actor(session, user_id), **inputs)


def _send(instance: Instance, transfer_id: int, transport: WsgiTransport) -> None:
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        send_message(session, transfer, "notice", transport)
        assert transfer.last_delivery_error is None, transfer.last_delivery_error


def _send_follow_up_with_the_marker(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> tuple[int, str]:
    with transaction(instance.sessions) as session:
        incident = session.scalars(select(Incident).where(Incident.pupil_id == pair.pupil_id)).one()
        incident.narrative = f"{incident.narrative} {MARKER}"
        session.add(
            IncidentAction(
                school_id=pair.sender_id,
                incident_id=incident.id,
                text=f"Parents told. {MARKER}",
                acted_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
            )
        )
    return _follow_up(instance, pair, transport)


def _recall(
    instance: Instance, pair: Pair, transport: WsgiTransport, sent_id: int, uid: str
) -> Transfer:
    """Recall the follow-up, confirm its destruction at the receiver; return the receiver's row."""
    _act(
        instance,
        pair.sender_dsl_id,
        sent_id,
        "recall",
        reason="About the wrong child",
        fresh_second_factor=True,
    )
    _send(instance, sent_id, transport)
    with instance.sessions() as session:
        got_id = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING).id
    _act(instance, pair.receiver_dsl_id, got_id, "confirm_destruction", fresh_second_factor=True)
    with instance.sessions() as session:
        queued = session.scalars(
            select(OutboxMessage.args).where(OutboxMessage.transfer_id == got_id)
        ).all()
    assert [got_id, "notice"] in [list(args) for args in queued]  # Although the offer is gone.
    _send(instance, got_id, transport)
    with instance.sessions() as session:
        assert session.get(Transfer, sent_id).state == states.RECALLED
        got = session.get(Transfer, got_id)
        assert got.state == states.RECALLED
        session.expunge(got)
        return got


def _destruction(instance: Instance, pair: Pair, got: Transfer) -> tuple[str | None, dict]:
    """Return the receiver's note on its destruction step and the audit event's details."""
    with instance.sessions() as session:
        note = session.scalars(
            select(TransferStep.note)
            .where(TransferStep.transfer_id == got.id)
            .order_by(TransferStep.id.desc())
        ).first()
        (canonical,) = session.scalars(
            select(AuditEntry.canonical).where(
                AuditEntry.school_id == pair.receiver_id,
                AuditEntry.event == "transfer.recalled",
                AuditEntry.object_id == got.transfer_uid,
            )
        ).all()
    return note, json.loads(canonical)["details"]


def test_recalling_a_follow_up_over_the_protocol_undoes_its_merge(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    run_transfer(instance, pair, transport)
    incident_id, first, actions = _held(instance, pair)
    sent_id, uid = _send_follow_up_with_the_marker(instance, pair, transport)
    assert any(MARKER in (text or "") for text in _texts(instance, incident_id))
    got = _recall(instance, pair, transport, sent_id, uid)
    assert _held(instance, pair) == (incident_id, first, actions)
    assert not any(MARKER in (text or "") for text in _texts(instance, incident_id))
    note, details = _destruction(instance, pair, got)
    assert note is None
    assert details["destroyed"]["actions"] == 1  # The follow-up's action.
    assert details["destroyed"]["edits"] == 1  # Its own edit row, with the recalled text.
    assert details["merges"]["values_restored"] == 1
    assert MARKER not in json.dumps(details)


def test_recalling_a_follow_up_keeps_text_a_dsl_here_wrote_since_and_says_so(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    run_transfer(instance, pair, transport)
    incident_id, _first, actions = _held(instance, pair)
    sent_id, uid = _send_follow_up_with_the_marker(instance, pair, transport)
    with transaction(instance.sessions) as session:
        session.get(Incident, incident_id).narrative = "Our DSL's own account, written today."
    got = _recall(instance, pair, transport, sent_id, uid)
    assert _held(instance, pair) == (incident_id, "Our DSL's own account, written today.", actions)
    assert not any(MARKER in (text or "") for text in _texts(instance, incident_id))
    note, details = _destruction(instance, pair, got)
    assert details["merges"]["kept_changed_here"] == 1
    assert details["merges"]["kept_incident_ids"] == [incident_id]
    assert note is not None
    assert "1 record(s) changed here after the recalled follow-up" in note


def test_an_onward_review_made_before_the_recall_must_be_redacted_again(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    from exchange.transfers.models import RedactedText
    from exchange.transfers.review_changes import changes_since_review

    run_transfer(instance, pair, transport)
    incident_id, first, _actions = _held(instance, pair)
    follow_id, _ = _merge(instance, pair, f"{first} {MARKER}")
    with transaction(instance.sessions) as session:
        receiver = session.get(School, pair.receiver_id)
        dsl = actor(session, pair.receiver_dsl_id)
        onward = workflow.start(
            session,
            instance,
            receiver,
            "create",
            dsl,
            pupil=session.get(Pupil, session.get(Incident, incident_id).pupil_id),
            partner=find_partner(session, receiver.id, session.get(School, pair.sender_id).urn),
        )
        for item in onward.items:
            if item.kind == "incident" and not item.included:
                workflow.apply(
                    session, instance, onward, "select_item", dsl, kind=item.kind,
                    object_id=item.object_id, included=True, reason="The whole history goes.",
                )  # fmt: skip
        start_review(session, instance, onward, dsl)
        onward_id = onward.id
    with instance.sessions() as session:
        texts = session.scalars(select(RedactedText).where(RedactedText.transfer_id == onward_id))
        assert any(MARKER in (row.text or "") for row in texts)
    with transaction(instance.sessions) as session:
        undo_merges(session, instance.blobs, session.get(Transfer, follow_id))
    with transaction(instance.sessions) as session:
        onward = session.get(Transfer, onward_id)
        changes = [change.words() for change in changes_since_review(session, onward)]
        assert changes == [f"Incident {incident_id} (1 October 2026): its narrative changed"]
        workflow.apply(
            session, instance, onward, "redact_changes", actor(session, pair.receiver_dsl_id)
        )
    with instance.sessions() as session:
        texts = session.scalars(select(RedactedText).where(RedactedText.transfer_id == onward_id))
        assert not any(MARKER in (row.text or "") for row in texts)
