"""Recall, destruction and re-offer from the command line, as a DSL would type them."""

from __future__ import annotations

import re

from click.testing import CliRunner
from sqlalchemy import select
from totp_kit import acting, enrol_user
from transfer_kit import Pair, offer_transfer, run_transfer

from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.outbox.models import OutboxMessage
from exchange.transfers import incoming, states
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import partner_url
from exchange.transfers.effects import send_message
from exchange.transfers.models import INCOMING, Transfer


def _run(cli_env: dict[str, str], urn: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--school", urn, *args], env=cli_env)
    return result.exit_code, result.output


def _email(instance: Instance, user_id: int) -> str:
    from exchange.records.models import User

    enrol_user(instance, user_id)
    with instance.sessions() as session:
        return session.get(User, user_id).email


def test_a_recall_and_its_destruction_on_the_command_line(
    instance: Instance, pair: Pair, transport: WsgiTransport, cli_env: dict[str, str]
) -> None:
    transfer_id = run_transfer(instance, pair, transport)
    sender_dsl = _email(instance, pair.sender_dsl_id)
    receiver_dsl = _email(instance, pair.receiver_dsl_id)
    with instance.sessions() as session:
        uid = session.get(Transfer, transfer_id).transfer_uid
    code, out = _run(
        cli_env,
        "990101",
        "transfers",
        "recall",
        uid[:8],
        "--confirm",
        *acting(instance, sender_dsl),
    )
    assert code != 0
    assert "--reason" in out
    code, out = _run(
        cli_env,
        "990101",
        "transfers",
        "recall",
        uid[:8],
        "--reason",
        "Sent in error",
        "--confirm",
        *acting(instance, sender_dsl),
    )
    assert code == 0, out
    with transaction(instance.sessions) as session:
        sent = session.get(Transfer, transfer_id)
        assert sent.state == states.RECALL_REQUESTED
        send_message(session, sent, "notice", transport)
    code, out = _run(
        cli_env,
        "990102",
        "transfers",
        "confirm-destruction",
        uid[:8],
        "--confirm",
        *acting(instance, receiver_dsl),
    )
    assert code == 0, out
    with instance.sessions() as session:
        got = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        assert got.state == states.RECALLED
        queued = session.scalars(
            select(OutboxMessage.args).where(OutboxMessage.transfer_id == got.id)
        ).all()
    assert [got.id, "notice"] in [list(args) for args in queued]


def test_a_rejected_offer_is_offered_again_on_the_command_line(
    instance: Instance, pair: Pair, transport: WsgiTransport, cli_env: dict[str, str]
) -> None:
    transfer_id, uid, offer = offer_transfer(instance, pair)
    with instance.sessions() as session:
        assert (
            transport.post(partner_url(session.get(Transfer, transfer_id), "offers"), offer).status
            == 202
        )
    sender_dsl = _email(instance, pair.sender_dsl_id)
    receiver_dsl = _email(instance, pair.receiver_dsl_id)
    code, out = _run(
        cli_env,
        "990102",
        "transfers",
        "respond",
        uid[:8],
        "--reject",
        "--reason",
        "Not on our roll",
        *acting(instance, receiver_dsl),
    )
    assert code == 0, out
    with transaction(instance.sessions) as session:
        got = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        send_message(session, got, "response", transport)
    code, out = _run(
        cli_env, "990101", "transfers", "reoffer", uid[:8], *acting(instance, sender_dsl)
    )
    assert code != 0
    code, out = _run(
        cli_env,
        "990101",
        "transfers",
        "reoffer",
        uid[:8],
        "--reason",
        "She starts Monday",
        *acting(instance, sender_dsl),
    )
    assert code == 0, out
    new_uid = re.search(r"new draft ([0-9a-f-]{36})", out).group(1)
    with instance.sessions() as session:
        new = session.scalar(select(Transfer).where(Transfer.transfer_uid == new_uid))
        assert (new.state, new.follows_uid) == (states.DRAFT, uid)
