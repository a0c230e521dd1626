"""Alerts reach the DSL and SENCO through a real SMTP server, with nothing about the child."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from transfer_kit import OTHER_CHILD, SUBJECT, Pair, run_transfer

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import School
from exchange.transfers import incoming
from exchange.transfers.client import WsgiTransport
from exchange.transfers.models import INCOMING, Transfer
from exchange.transfers.notify import send_alert
from exchange.transfers.settings import update_settings


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802, ARG002
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """Run a real SMTP server on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_the_receiving_dsl_and_senco_are_emailed_without_the_childs_details(
    instance: Instance, pair: Pair, transport: WsgiTransport, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    transfer_id = run_transfer(instance, pair, transport)
    config = {**instance.config, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port}
    with transaction(instance.sessions) as session:
        update_settings(session.get(School, pair.receiver_id), senco_email="senco@example.org")
    with transaction(instance.sessions) as session:
        uid = session.get(Transfer, transfer_id).transfer_uid
        received = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        assert send_alert(session, config, received, "file_received") == 2
    [(recipients, raw)] = inbox.messages
    assert sorted(recipients) == ["dsl2@example.org", "senco@example.org"]
    message = message_from_bytes(raw)
    body = message.get_payload(decode=True).decode()
    assert uid in body
    for name in (*SUBJECT, *OTHER_CHILD):
        assert name not in body
        assert name not in message["Subject"]
