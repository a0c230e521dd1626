"""A school rotates its keys and tells its partners, signing with the old key."""

from __future__ import annotations

from sqlalchemy import select
from transfer_kit import Pair, run_transfer

from exchange.db import transaction
from exchange.instance import Instance
from exchange.packaging.keys import KIND_SIGNING, current_key, rotate_keys
from exchange.partners.models import PartnerKey
from exchange.partners.rotation import ROTATION_CONFIRMED_BY, announcement
from exchange.partners.service import find_partner, trusted_signing_keys
from exchange.receipts.evidence import verify_pack
from exchange.receipts.service import export_pack
from exchange.records.models import School
from exchange.transfers.client import WsgiTransport
from exchange.transfers.models import Transfer


def test_partners_trust_the_new_key_and_old_receipts_still_verify(
    instance: Instance, pair: Pair, transport: WsgiTransport, tmp_path
) -> None:
    transfer_id = run_transfer(instance, pair, transport)
    with transaction(instance.sessions) as session:
        receiver = session.get(School, pair.receiver_id)
        sender = session.get(School, pair.sender_id)
        old = current_key(session, receiver.id, KIND_SIGNING).key_id
        rotate_keys(session, receiver.id, instance.instance_key)
        new = current_key(session, receiver.id, KIND_SIGNING).key_id
        partner_of_receiver = find_partner(session, receiver.id, sender.urn)
        token = announcement(session, instance, receiver, old, partner_of_receiver)
        url = f"{instance.config['PUBLIC_URL']}/s2s/v1/schools/{sender.urn}/key-rotations"
    reply = transport.post(url, token)
    assert reply.status == 200, reply.body
    # Sent again, it is refused: the key that signed it is no longer trusted for messages.
    assert transport.post(url, token).status == 403
    with instance.sessions() as session:
        partner = find_partner(session, pair.sender_id, session.get(School, pair.receiver_id).urn)
        assert set(trusted_signing_keys(session, partner)) == {new}
        assert old in trusted_signing_keys(session, partner, include_retired=True)
        confirmed = session.scalar(select(PartnerKey).filter_by(partner_id=partner.id, key_id=new))
        assert confirmed.confirmed_by_name == ROTATION_CONFIRMED_BY
        pack = export_pack(session, session.get(Transfer, transfer_id), tmp_path / "pack")
    assert verify_pack(pack).receiver_key_id == old
