"""Take a transfer through the pages with the test client, as the two DSLs would."""

from __future__ import annotations

import re
from datetime import date

from flask.testing import FlaskClient
from sqlalchemy import select

from exchange.instance import Instance
from exchange.partners.models import Partner
from exchange.records.models import School
from exchange.transfers.models import INCOMING, OUTGOING, RedactionReview, Transfer

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient) -> str:
    """Return the client's CSRF token, read from a page as a browser would."""
    page = client.get("/login").get_data(as_text=True)
    match = CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def post(
    client: FlaskClient, url: str, data: dict[str, str] | None = None, status: int = 302
) -> str:
    """Post a form with the CSRF token; check the status; return the body."""
    response = client.post(url, data={"csrf_token": csrf_token(client), **(data or {})})
    body = response.get_data(as_text=True)
    assert response.status_code == status, (url, response.status_code, body[:2000])
    return body


def partner_id(instance: Instance, school_id: int, other_id: int) -> int:
    """Return the id of `other` in `school`'s partner directory."""
    with instance.sessions() as session:
        urn = session.get(School, other_id).urn
        return session.scalar(
            select(Partner.id).where(Partner.school_id == school_id, Partner.urn == urn)
        )


def start_and_offer(
    sender: FlaskClient, instance: Instance, sender_id: int, receiver_id: int, pupil_id: int
) -> int:
    """Start a transfer, review and resolve redactions, and send the offer; return its id."""
    post(
        sender,
        f"/transfers/new/{pupil_id}",
        {"partner_id": str(partner_id(instance, sender_id, receiver_id))},
    )
    with instance.sessions() as session:
        transfer_id = session.scalar(
            select(Transfer.id)
            .where(Transfer.school_id == sender_id, Transfer.direction == OUTGOING)
            .order_by(Transfer.id.desc())
        )
    post(sender, f"/transfers/{transfer_id}/review")
    with instance.sessions() as session:
        flagged = session.scalars(
            select(RedactionReview.id).where(
                RedactionReview.transfer_id == transfer_id, RedactionReview.flagged.is_(True)
            )
        ).all()
    for review_id in flagged:
        post(
            sender,
            f"/transfers/{transfer_id}/redactions",
            {"review_id": str(review_id), "resolution": "excluded", "note": "Checked by hand"},
        )
    post(sender, f"/transfers/{transfer_id}/offer")
    return transfer_id


def incoming_id(instance: Instance, receiver_id: int, sender_transfer_id: int) -> int:
    """Return the receiver's row for the sender's transfer."""
    with instance.sessions() as session:
        uid = session.get(Transfer, sender_transfer_id).transfer_uid
        return session.scalar(
            select(Transfer.id).where(
                Transfer.school_id == receiver_id,
                Transfer.transfer_uid == uid,
                Transfer.direction == INCOMING,
            )
        )


def complete(
    sender: FlaskClient,
    receiver: FlaskClient,
    instance: Instance,
    receiver_id: int,
    transfer_id: int,
) -> int:
    """Accept, record the conversation and authorise; return the receiver's transfer id."""
    received = incoming_id(instance, receiver_id, transfer_id)
    post(receiver, f"/transfers/{received}/answer", {"decision": "accept", "on_roll": "yes"})
    post(
        sender,
        f"/transfers/{transfer_id}/conversation",
        {
            "held_on": date.today().isoformat(),
            "participants": "Dsl 1, Dsl 2",
            "summary": "Needs a trusted adult at break.",
        },
    )
    post(sender, f"/transfers/{transfer_id}/authorise", {"confirm": "yes"}, status=200)
    return received
