"""Authorisation waits for the flags, the conversation, the right person and a fresh factor."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from transfer_kit import Pair, actor, offer_transfer

from exchange.db import transaction
from exchange.demo.pdfs import scan_pdf
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.records.models import Pupil, School, User, VaultDocument
from exchange.records.schools import add_user
from exchange.transfers import outgoing, states
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer
from exchange.transfers.redaction_step import resolve_flag, unresolved_flags
from exchange.transfers.settings import update_settings
from exchange.vault.pupil_keys import blob_context, pupil_data_key


def _add_scan(instance: Instance, pair: Pair) -> None:
    """Attach an image-only scan, which no tool can check for names, to the child."""
    with transaction(instance.sessions) as session:
        child = session.get(Pupil, pair.pupil_id)
        key = pupil_data_key(session, child, instance.instance_key)
        blob = instance.blobs.write(
            key, blob_context(child), io.BytesIO(scan_pdf(["Police report"], seed=1)), 10**7
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


def _accepted(instance: Instance, pair: Pair) -> int:
    transfer_id, _, _ = offer_transfer(instance, pair)
    with transaction(instance.sessions) as session:
        session.get(Transfer, transfer_id).state = states.ACCEPTED  # As if the answer came.
    return transfer_id


def test_a_flagged_scan_blocks_authorisation_until_the_dsl_resolves_it(
    instance: Instance, pair: Pair
) -> None:
    _add_scan(instance, pair)
    transfer_id = _accepted(instance, pair)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, pair.sender_dsl_id)
        outgoing.record_conversation(
            session, transfer, dsl, transfer.created_at.date(), "A, B", "Needs."
        )
        [flag] = unresolved_flags(session, transfer)
        assert flag.kind == "document"
        with pytest.raises(ValidationError, match="redaction flag"):
            outgoing.authorise(session, instance, transfer, dsl, fresh_second_factor=True)
        with pytest.raises(ValidationError, match="say what was checked"):
            resolve_flag(session, instance, transfer, flag.id, "confirmed", " ", dsl)
        resolve_flag(
            session, instance, transfer, flag.id, "confirmed", "Read the scan: no child named.", dsl
        )
        outgoing.authorise(session, instance, transfer, dsl, fresh_second_factor=True)
        assert transfer.state == states.AUTHORISED


def test_only_the_right_person_with_a_fresh_factor_after_the_conversation_can_authorise(
    instance: Instance, pair: Pair
) -> None:
    transfer_id = _accepted(instance, pair)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        school = session.get(School, pair.sender_id)
        dsl = actor(session, pair.sender_dsl_id)
        deputy = Actor.of(
            add_user(session, school, "deputy_dsl", "Deputy One", "deputy1@example.org")
        )
        dpo = Actor.of(session.scalar(select(User).filter_by(school_id=school.id, role="dpo")))
        with pytest.raises(states.TransitionRefused, match="cannot be authorised yet"):
            outgoing.authorise(session, instance, transfer, dsl, fresh_second_factor=True)
        outgoing.record_conversation(
            session, transfer, deputy, transfer.created_at.date(), "A, B", "Needs."
        )
        with pytest.raises(states.TransitionRefused, match="second factor"):
            outgoing.authorise(session, instance, transfer, dsl, fresh_second_factor=False)
        with pytest.raises(states.TransitionRefused, match="only the DSL"):
            outgoing.authorise(session, instance, transfer, deputy, fresh_second_factor=True)
        with pytest.raises(states.TransitionRefused):
            outgoing.authorise(session, instance, transfer, dpo, fresh_second_factor=True)
        update_settings(school, deputy_may_authorise=True)
        outgoing.authorise(session, instance, transfer, deputy, fresh_second_factor=True)
        assert transfer.state == states.AUTHORISED


def test_a_dpo_cannot_start_a_transfer(instance: Instance, pair: Pair) -> None:
    from exchange.partners.service import find_partner

    with transaction(instance.sessions) as session:
        school = session.get(School, pair.sender_id)
        dpo = Actor.of(session.scalar(select(User).filter_by(school_id=school.id, role="dpo")))
        partner = find_partner(session, school.id, session.get(School, pair.receiver_id).urn)
        with pytest.raises(states.TransitionRefused):
            outgoing.create_transfer(
                session, school, dpo, session.get(Pupil, pair.pupil_id), partner
            )
