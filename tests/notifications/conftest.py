"""A real SMTP server on loopback for the notification tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802, ARG002
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def parsed(self) -> list[tuple[list[str], Message, str]]:
        """Return each message's recipients, headers and decoded text."""
        out = []
        for recipients, raw in self.messages:
            message = message_from_bytes(raw)
            out.append((sorted(recipients), message, message.get_payload(decode=True).decode()))
        return out


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
