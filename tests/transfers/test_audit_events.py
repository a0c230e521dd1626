"""Every step of setting up and running a transfer leaves an audit entry, with ids only."""

from __future__ import annotations

from sqlalchemy import select
from transfer_kit import OTHER_CHILD, SUBJECT, Pair, run_transfer

from exchange.audit.models import AuditEntry
from exchange.audit.service import verify_log
from exchange.instance import Instance
from exchange.packaging.keys import KIND_SIGNING, all_public_keys, public_key_of
from exchange.transfers.client import WsgiTransport


def _events(instance: Instance, school_id: int) -> list[str]:
    with instance.sessions() as session:
        query = (
            select(AuditEntry.event)
            .where(AuditEntry.school_id == school_id)
            .order_by(AuditEntry.seq)
        )
        return list(session.scalars(query))


def test_both_schools_logs_record_every_step_and_verify(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    run_transfer(instance, pair, transport)
    sent = _events(instance, pair.sender_id)
    for event in (
        "keys.generated",
        "policy.preset_applied",
        "partner.enrolled",
        "partner.confirmed",
        "transfer.draft",
        "transfer.redaction_run",
        "transfer.redaction_review",
        "transfer.offered",
        "transfer.accepted",
        "transfer.conversation_recorded",
        "transfer.bundle_built",
        "transfer.authorised",
        "transfer.delivered",
        "receipt.verified",
        "transfer.receipted",
        "transfer.closed",
    ):
        assert event in sent, event
    received = _events(instance, pair.receiver_id)
    for event in (
        "transfer.offered",
        "transfer.accepted",
        "transfer.imported",
        "transfer.receipted",
        "transfer.closed",
    ):
        assert event in received, event
    with instance.sessions() as session:
        for school_id in (pair.sender_id, pair.receiver_id):
            keys = [public_key_of(r) for r in all_public_keys(session, school_id, KIND_SIGNING)]
            assert verify_log(session, school_id, keys).ok
        stored = b"".join(session.scalars(select(AuditEntry.canonical)))
    for name in (*SUBJECT, *OTHER_CHILD):
        assert name.encode() not in stored
