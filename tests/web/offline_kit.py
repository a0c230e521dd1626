"""An offline partner (a school without the service) and a transfer to it through the pages."""

from __future__ import annotations

from datetime import date

from flask.testing import FlaskClient
from flow import partner_id, post
from sqlalchemy import select
from transfer_kit import school_with_keys

from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import enrol_partner, own_card
from exchange.transfers.models import OUTGOING, RedactionReview, Transfer


def add_offline_partner(instance: Instance, sender_id: int) -> int:
    """Create a third school and enrol it in the sender's directory with no service; its id."""
    with transaction(instance.sessions) as session:
        offline = school_with_keys(session, instance, 3, "bretherton")
        sender = session.get(type(offline), sender_id)
        enrol_partner(session, sender.id, own_card(session, offline, None))
        return offline.id


def authorised_offline_transfer(
    client: FlaskClient, instance: Instance, sender_id: int, pupil_id: int
) -> int:
    """Take a transfer to an offline school as far as authorised, through the pages."""
    offline_id = add_offline_partner(instance, sender_id)
    post(
        client,
        f"/transfers/new/{pupil_id}",
        {"partner_id": str(partner_id(instance, sender_id, offline_id))},
    )
    with instance.sessions() as session:
        transfer_id = session.scalar(
            select(Transfer.id)
            .where(Transfer.school_id == sender_id, Transfer.direction == OUTGOING)
            .order_by(Transfer.id.desc())
        )
    post(client, f"/transfers/{transfer_id}/review")
    with instance.sessions() as session:
        flagged = session.scalars(
            select(RedactionReview.id).where(
                RedactionReview.transfer_id == transfer_id, RedactionReview.flagged.is_(True)
            )
        ).all()
    for review_id in flagged:
        post(
            client,
            f"/transfers/{transfer_id}/redactions",
            {"review_id": str(review_id), "resolution": "excluded", "note": "Checked by hand"},
        )
    post(
        client,
        f"/transfers/{transfer_id}/conversation",
        {
            "held_on": date.today().isoformat(),
            "participants": "Dsl 1, Dsl 3",
            "summary": "Needs a trusted adult at break.",
        },
    )
    post(client, f"/transfers/{transfer_id}/authorise", {"confirm": "yes"}, status=200)
    return transfer_id
