"""Forms keep what was typed and say exactly what is wrong, beside the field and at the top."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pyotp
from flask import Flask
from flow import incoming_id, partner_id, post, start_and_offer
from totp_kit import TOTP_SECRET, enrol_user, fresh_code
from web_kit import World, sign_in

from exchange.auth import totp
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import User
from exchange.transfers.models import Transfer


def _error_beside(page: str, field: str) -> str:
    match = re.search(
        rf'id="{field}-error"[^>]*><span class="visually-hidden">Error:</span> ([^<]+)', page
    )
    assert match, f"no error beside {field}"
    assert f'href="#{field}"' in page  # And in the summary, linked to the field.
    assert "autofocus" in page.split('class="error-summary"', 1)[1].split(">", 1)[0]
    return match.group(1).strip()


def test_the_conversation_date_must_fall_within_the_life_of_the_transfer(
    app: Flask, instance: Instance, world: World
) -> None:
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    sent = start_and_offer(sender, instance, world.sender_id, world.receiver_id, world.pupil_id)
    received = incoming_id(instance, world.receiver_id, sent)
    post(receiver, f"/transfers/{received}/answer", {"decision": "accept", "on_roll": "yes"})
    with instance.sessions() as session:
        began = session.get(Transfer, sent).created_at.date()
    typed = {"participants": "Dsl 1, Dsl 2", "summary": "Needs a trusted adult at break."}
    url = f"/transfers/{sent}/conversation"
    early = post(
        sender, url, {**typed, "held_on": (began - timedelta(days=330)).isoformat()}, status=400
    )
    assert "on or after the day this transfer began" in _error_beside(early, "held_on")
    assert 'value="Dsl 1, Dsl 2"' in early
    assert "Needs a trusted adult at break.</textarea>" in early
    future = (date.today() + timedelta(days=1)).isoformat()
    late = post(sender, url, {**typed, "held_on": future}, status=400)
    assert "cannot be dated in the future" in _error_beside(late, "held_on")
    assert f'value="{future}"' in late
    post(sender, url, {**typed, "held_on": began.isoformat()})
    with instance.sessions() as session:
        assert session.get(Transfer, sent).conversation_held_on == began


def test_the_answer_keeps_the_choice_and_puts_each_error_beside_its_field(
    app: Flask, instance: Instance, world: World
) -> None:
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    sent = start_and_offer(sender, instance, world.sender_id, world.receiver_id, world.pupil_id)
    url = f"/transfers/{incoming_id(instance, world.receiver_id, sent)}/answer"
    nothing = post(receiver, url, {"reason": "Typed before choosing"}, status=400)
    assert "Choose whether to accept or reject" in _error_beside(nothing, "decision")
    assert "Typed before choosing</textarea>" in nothing
    unticked = post(receiver, url, {"decision": "accept"}, status=400)
    _error_beside(unticked, "on_roll")
    assert re.search(r'value="accept" checked', unticked)
    no_reason = post(receiver, url, {"decision": "reject", "on_roll": "yes"}, status=400)
    _error_beside(no_reason, "reason")
    assert re.search(r'value="reject" checked', no_reason)
    assert re.search(r'id="on_roll" name="on_roll" type="checkbox" value="yes" checked', no_reason)


def test_a_wrong_an_expired_and_a_used_code_each_say_so(instance: Instance, world: World) -> None:
    user_id = world.user("sender", "dsl")
    enrol_user(instance, user_id)
    code = fresh_code(instance, user_id)
    old = pyotp.TOTP(TOTP_SECRET).at(time.time() - 5 * totp.STEP_SECONDS)
    wrong = next(c for c in ("000000", "111111", "222222") if c not in (code, old))
    with transaction(instance.sessions) as session:
        user = session.get(User, user_id)
        key = instance.instance_key
        assert totp.code_problem(session, user, key, "") == totp.EMPTY
        assert totp.code_problem(session, user, key, "12ab56") == totp.MALFORMED
        assert totp.code_problem(session, user, key, wrong) == totp.WRONG
        assert totp.code_problem(session, user, key, old) == totp.EXPIRED
        assert totp.code_problem(session, user, key, code) is None
        assert totp.code_problem(session, user, key, code) == totp.USED
        assert len({totp.WRONG, totp.EXPIRED, totp.USED, totp.EMPTY}) == 4


def test_the_confirm_page_names_the_used_code(app: Flask, instance: Instance, world: World) -> None:
    user_id = world.user("sender", "dsl")
    enrol_user(instance, user_id)
    client = app.test_client()
    sign_in(client, instance, user_id, fresh=False)
    code = fresh_code(instance, user_id)
    post(client, "/confirm?next=/start", {"code": code})
    again = post(client, "/confirm?next=/start", {"code": code}, status=400)
    assert _error_beside(again, "code") == totp.USED.replace("'", "&#39;")
    wrong = post(client, "/confirm?next=/start", {"code": "12345"}, status=400)
    assert _error_beside(wrong, "code") == totp.MALFORMED


def test_choosing_what_goes_keeps_every_tick_and_reason_after_an_error(
    app: Flask, instance: Instance, world: World
) -> None:
    sender = app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    partner = partner_id(instance, world.sender_id, world.receiver_id)
    post(sender, f"/transfers/new/{world.pupil_id}", {"partner_id": str(partner)})
    with instance.sessions() as session:
        transfer = session.query(Transfer).filter_by(school_id=world.sender_id).one()
        keys = [f"{i.kind}-{i.object_id}" for i in transfer.items if i.included]
        url = f"/transfers/{transfer.id}/items"
    assert len(keys) >= 2
    first, second = keys[0], keys[1]
    typed = {f"reason-{first}": "Not relevant to the new school"}  # Both dropped; one reason.
    refused = post(sender, url, typed, status=400)
    assert _error_beside(refused, f"reason-{second}")
    assert 'value="Not relevant to the new school"' in refused
    assert f'id="include-{first}" name="include-{first}" type="checkbox" value="yes" >' in refused
    with instance.sessions() as session:  # Nothing was saved.
        assert all(i.included for i in session.get(Transfer, transfer.id).items if i.by_policy)
