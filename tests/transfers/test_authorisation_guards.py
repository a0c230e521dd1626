"""Authorisation waits for the flags, the conversation, the right person and a fresh factor;
a change to what travels after authorisation needs authorising again."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from transfer_kit import Pair, actor, offered_and_accepted

from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.records.models import Pupil, School, User, VaultDocument
from exchange.records.schools import add_user
from exchange.transfers import states, workflow
from exchange.transfers.actors import SYSTEM_ACTOR, Actor
from exchange.transfers.client import WsgiTransport
from exchange.transfers.models import Transfer
from exchange.transfers.openings import record_opening
from exchange.transfers.redaction_step import reviews, unresolved_flags
from exchange.transfers.settings import update_settings
from exchange.transfers.workflow_types import ActionRefused
from exchange.vault.pupil_keys import blob_context, pupil_data_key
from tests.redaction.producers import handwriting_image, image_pdf


def _add_scan(instance: Instance, pair: Pair) -> None:
    """Attach a scanned handwritten note, which OCR cannot read for names, to the child."""
    with transaction(instance.sessions) as session:
        child = session.get(Pupil, pair.pupil_id)
        key = pupil_data_key(session, child, instance.instance_key)
        blob = instance.blobs.write(
            key, blob_context(child), io.BytesIO(image_pdf(handwriting_image())), 10**7
        )
        session.add(
            VaultDocument(
                school_id=child.school_id,
                pupil_id=child.id,
                original_filename="scan.pdf",
                media_type="application/pdf",
                size=blob.size,
                sha256=blob.sha256,
                storage_key=blob.storage_key,
            )
        )


def _accepted(instance: Instance, pair: Pair, transport: WsgiTransport) -> int:
    """Offer the file and have the receiving DSL accept it, over the school-to-school API."""
    return offered_and_accepted(instance, pair, transport)[0]


def _converse(session, instance: Instance, transfer: Transfer, who: Actor) -> None:  # type: ignore[no-untyped-def]
    workflow.apply(
        session,
        instance,
        transfer,
        "record_conversation",
        who,
        held_on=transfer.created_at.date(),
        participants="A, B",
        summary="Needs.",
    )


def _resolve(session, instance, transfer, review_id, resolution, note, who, data=None):  # type: ignore[no-untyped-def]
    return workflow.apply(
        session,
        instance,
        transfer,
        "resolve_flag",
        who,
        review_id=review_id,
        resolution=resolution,
        note=note,
        replacement=data,
    )


def test_a_flagged_scan_blocks_authorisation_until_the_dsl_resolves_it(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    _add_scan(instance, pair)
    transfer_id = _accepted(instance, pair, transport)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, pair.sender_dsl_id)
        _converse(session, instance, transfer, dsl)
        [flag] = unresolved_flags(session, transfer)
        assert flag.kind == "document"
        with pytest.raises(ActionRefused, match="redaction flag"):
            workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=True)
        with pytest.raises(ActionRefused, match="Open the document in the viewer"):
            _resolve(session, instance, transfer, flag.id, "confirmed", "Read it.", dsl)
        record_opening(session, flag, dsl.user_id)  # As the viewer does when it shows the pages.
        with pytest.raises(ValidationError, match="say what was checked"):
            _resolve(session, instance, transfer, flag.id, "confirmed", " ", dsl)
        _resolve(
            session, instance, transfer, flag.id, "confirmed", "Read the scan: no child named.", dsl
        )
        workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=True)
        assert transfer.state == states.AUTHORISED


def test_only_the_right_person_with_a_fresh_factor_after_the_conversation_can_authorise(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id = _accepted(instance, pair, transport)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        school = session.get(School, pair.sender_id)
        dsl = actor(session, pair.sender_dsl_id)
        deputy = Actor.of(
            add_user(session, school, "deputy_dsl", "Deputy One", "deputy1@example.org")
        )
        dpo = Actor.of(session.scalar(select(User).filter_by(school_id=school.id, role="dpo")))
        with pytest.raises(ActionRefused, match="Record the DSL conversation first"):
            workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=True)
        _converse(session, instance, transfer, deputy)
        with pytest.raises(ActionRefused, match="second factor"):
            workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=False)
        with pytest.raises(ActionRefused, match="Only the DSL can authorise a transfer at this"):
            workflow.apply(
                session, instance, transfer, "authorise", deputy, fresh_second_factor=True
            )
        with pytest.raises(ActionRefused, match="the DPO cannot"):
            workflow.apply(session, instance, transfer, "authorise", dpo, fresh_second_factor=True)
        update_settings(school, deputy_may_authorise=True)
        workflow.apply(session, instance, transfer, "authorise", deputy, fresh_second_factor=True)
        assert transfer.state == states.AUTHORISED


def test_a_dpo_cannot_start_a_transfer(instance: Instance, pair: Pair) -> None:
    from exchange.partners.service import find_partner

    with transaction(instance.sessions) as session:
        school = session.get(School, pair.sender_id)
        dpo = Actor.of(session.scalar(select(User).filter_by(school_id=school.id, role="dpo")))
        partner = find_partner(session, school.id, session.get(School, pair.receiver_id).urn)
        refused = "Only the DSL or a deputy DSL can start a transfer; the DPO cannot"
        with pytest.raises(ActionRefused, match=refused):
            workflow.start(
                session,
                instance,
                school,
                "create",
                dpo,
                pupil=session.get(Pupil, pair.pupil_id),
                partner=partner,
            )


def test_a_user_of_another_school_cannot_act_on_this_schools_transfer(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id = _accepted(instance, pair, transport)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        stranger = actor(session, pair.receiver_dsl_id)
        with pytest.raises(ActionRefused, match="your own school"):
            workflow.apply(session, instance, transfer, "withdraw", stranger, reason="Not mine")
        assert transfer.state == states.ACCEPTED


def test_resolving_a_flag_after_authorisation_sends_the_transfer_back_for_authorising(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    _add_scan(instance, pair)
    transfer_id = _accepted(instance, pair, transport)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, pair.sender_dsl_id)
        _converse(session, instance, transfer, dsl)
        [flag] = unresolved_flags(session, transfer)
        record_opening(session, flag, dsl.user_id)
        _resolve(session, instance, transfer, flag.id, "confirmed", "Read: no child named.", dsl)
        workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=True)
        # While the delivery is in flight, nothing that travels can change.
        with pytest.raises(ActionRefused, match="being delivered"):
            _resolve(session, instance, transfer, flag.id, "excluded", "Take it out.", dsl)
        workflow.apply(session, instance, transfer, "delivery_failed", SYSTEM_ACTOR, note="down")
        built = transfer.bundle_sha256
        assert built is not None
        # After the failure the DSL excludes the scan: the bundle that was authorised is gone,
        # and the transfer waits for a new authorisation before anything is sent.
        _resolve(session, instance, transfer, flag.id, "excluded", "Take it out.", dsl)
        assert transfer.state == states.CONVERSATION_RECORDED
        assert transfer.bundle_sha256 is None
        assert transfer.authorised_at is None
        with pytest.raises(ActionRefused, match="not possible while the transfer"):
            workflow.apply(session, instance, transfer, "retry", dsl, fresh_second_factor=True)
        workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=True)
        assert transfer.bundle_sha256 not in (None, built)


def test_a_refused_authorisation_is_audited_and_changes_nothing(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id = _accepted(instance, pair, transport)
    with instance.sessions() as session:
        deputy_id = add_user(
            session, session.get(School, pair.sender_id), "deputy_dsl", "Dep Two", "d2@example.org"
        ).id
        session.commit()
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        deputy = actor(session, deputy_id)
        with pytest.raises(ActionRefused) as refused:
            workflow.apply(
                session, instance, transfer, "authorise", deputy, fresh_second_factor=True
            )
        session.rollback()
    with transaction(instance.sessions) as session:
        assert workflow.record_refusal(session, refused.value)
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == states.ACCEPTED
        events = session.scalars(
            select(AuditEntry.event).where(AuditEntry.event == "transfer.authorise_refused")
        ).all()
        assert events == ["transfer.authorise_refused"]
        assert reviews(session, session.get(Transfer, transfer_id))


def test_a_refusal_longer_than_an_audit_text_is_audited_cut_to_fit(
    instance: Instance, pair: Pair
) -> None:
    from exchange.audit.entry import MAX_DETAIL_STRING, parse_entry
    from exchange.audit.refusals import refusal_event

    refused = ActionRefused("A refusal that explains itself at length. " * 8)
    refused.audit = refusal_event(
        pair.sender_id, None, "dsl", "transfer.authorise_refused", "transfer", "t", None,
        refused.message,
    )  # fmt: skip
    with transaction(instance.sessions) as session:
        assert workflow.record_refusal(session, refused)
    with instance.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.event == "transfer.authorise_refused")
        ).one()
        reason = parse_entry(entry.canonical)["details"]["reason"]
        assert len(refused.message) > MAX_DETAIL_STRING == len(reason)
