"""Each role lands on a start page that says what waits for it, with counts in the navigation."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Flask
from flow import complete, incoming_id, partner_id, post, start_and_offer
from sqlalchemy import select
from transfer_kit import OTHER_CHILD, SUBJECT
from web_kit import World, sign_in

from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Pupil
from exchange.transfers.models import Transfer


def _leaving_in(instance: Instance, pupil_id: int, days: int) -> date:
    leaving = date.today() + timedelta(days=days)
    with transaction(instance.sessions) as session:
        session.get(Pupil, pupil_id).leaving_date = leaving
    return leaving


def _count(page: str) -> str | None:
    match = re.search(r'Start <span class="count">(\d+)', page)
    return match.group(1) if match else None


def test_each_role_is_sent_to_its_start_page(app: Flask, instance: Instance, world: World) -> None:
    for role in ("dsl", "deputy_dsl", "dpo"):
        client = app.test_client()
        sign_in(client, instance, world.user("sender", role))
        response = client.get("/")
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/start")
    admin = app.test_client()
    sign_in(admin, instance, world.user("sender", "admin"))
    assert admin.get("/start").status_code == 403


def test_the_departing_dsl_sees_the_leaver_with_school_days_left_and_the_rule(
    app: Flask, instance: Instance, world: World
) -> None:
    _leaving_in(instance, world.pupil_id, 40)
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    page = client.get("/start").get_data(as_text=True)
    assert f"{SUBJECT[0]} {SUBJECT[1]}" in page
    assert OTHER_CHILD[1] not in page
    assert re.search(r"\d+ school days left", page)
    assert (
        "within 5 school days of leaving" in page or "first 5 school days of the new term" in page
    )
    assert "Start the transfer" in page
    assert _count(page) is None  # Due in more than 5 school days: nothing to count yet.


def test_offers_steps_and_arrivals_reach_each_dsl_and_an_acknowledgement_clears_them(
    app: Flask, instance: Instance, world: World
) -> None:
    _leaving_in(instance, world.pupil_id, -1)  # Due within 5 school days, whatever today is.
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    waiting = receiver.get("/start").get_data(as_text=True)
    assert "<strong>1</strong> offers waiting for an answer" in waiting
    assert "Accept or reject" in waiting
    assert _count(waiting) == "1"
    received = incoming_id(instance, world.receiver_id, transfer_id)
    post(receiver, f"/transfers/{received}/answer", {"decision": "accept", "on_roll": "yes"})
    assert "No offers are waiting." in receiver.get("/start").get_data(as_text=True)
    next_step = sender.get("/start").get_data(as_text=True)
    assert "Record the DSL conversation" in next_step
    assert _count(next_step) == "2"  # The step to take, and the leaver due within 5 days.
    post(sender, f"/transfers/{transfer_id}/authorise", {"confirm": "yes"}, status=400)
    complete_rest(sender, instance, transfer_id)
    arrived = receiver.get("/start").get_data(as_text=True)
    assert "<strong>1</strong> files arrived, not yet acknowledged" in arrived
    assert re.search(r"\d school days left|>Today<", arrived)  # The receiving school's clock.
    link = f"/received/{received}/acknowledge"
    assert link in arrived
    refused = post(receiver, link, {"action": "senco"}, status=400)
    assert "Confirm that you read the file in full" in refused
    assert 'value="senco" checked' in refused  # The tick survives the error.
    post(receiver, link, {"action": ["read", "senco", "bogus"]})
    assert "Every file that arrived has been acknowledged." in receiver.get("/start").get_data(
        as_text=True
    )
    with instance.sessions() as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.school_id == world.receiver_id,
                AuditEntry.event == "transfer.acknowledged",
            )
        )
        assert entry is not None
        assert b'"senco"' in entry.canonical
        assert b"bogus" not in entry.canonical
    done = sender.get("/start").get_data(as_text=True)
    assert "Every leaver's file has reached the new school." in done
    history = receiver.get(f"/transfers/{received}").get_data(as_text=True)
    assert re.search(r"offered → accepted, by [A-Z]", history)
    assert "by the service" in history


def complete_rest(sender, instance: Instance, transfer_id: int) -> None:  # type: ignore[no-untyped-def]
    """Record the conversation and authorise (the receiver already accepted)."""
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
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == "closed"


def test_leavers_shows_the_delivered_file_not_a_later_withdrawn_transfer(
    app: Flask, instance: Instance, world: World
) -> None:
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    first = start_and_offer(sender, instance, world.sender_id, world.receiver_id, world.pupil_id)
    complete(sender, receiver, instance, world.receiver_id, first)
    post(
        sender,
        f"/transfers/new/{world.pupil_id}",
        {"partner_id": str(partner_id(instance, world.sender_id, world.receiver_id))},
    )
    with instance.sessions() as session:
        second = max(
            session.scalars(select(Transfer.id).where(Transfer.school_id == world.sender_id))
        )
    assert second != first
    post(sender, f"/transfers/{second}/withdraw", {"reason": "Started by mistake"})
    page = sender.get("/leavers").get_data(as_text=True)
    row = page[page.index(SUBJECT[1]) :]
    row = row[: row.index("</tr>")]
    assert "Closed" in row
    assert "Withdrawn" not in row
    assert "and 1 other transfer" in row


def test_the_dpo_start_page_counts_receipts_without_naming_the_child(
    app: Flask, instance: Instance, world: World
) -> None:
    sender, receiver, dpo = app.test_client(), app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    sign_in(dpo, instance, world.user("sender", "dpo"))
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    complete(sender, receiver, instance, world.receiver_id, transfer_id)
    page = dpo.get("/start").get_data(as_text=True)
    assert "What needs the DPO today" in page
    assert "1 transfers hold a signed receipt" in page
    assert "legal holds in force" in page
    assert "children's records due in the next 90 days" in page
    for name in (*SUBJECT, *OTHER_CHILD):
        assert name not in page


def test_a_dsl_chooses_the_daily_digest_on_the_start_page(
    app: Flask, instance: Instance, world: World
) -> None:
    from exchange.notifications.preferences import digest_user_ids
    from exchange.records.models import School

    client = app.test_client()
    dsl = world.user("sender", "dsl")
    sign_in(client, instance, dsl)
    assert 'id="emails-each" name="emails" value="each" checked' in client.get("/start").get_data(
        as_text=True
    )
    post(client, "/start/emails", {"emails": "digest"})
    assert 'value="digest" checked' in client.get("/start").get_data(as_text=True)
    with instance.sessions() as session:
        assert digest_user_ids(session.get(School, world.sender_id)) == {dsl}
    post(client, "/start/emails", {"emails": "whatever"}, status=400)
    post(client, "/start/emails", {"emails": "each"})
    with instance.sessions() as session:
        assert digest_user_ids(session.get(School, world.sender_id)) == frozenset()
