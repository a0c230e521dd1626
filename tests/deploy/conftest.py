"""Fixtures for deploy tests: two schools that trust each other on one instance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from transfer_kit import Pair, child_with_records, introduce, school_with_keys

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import User
from exchange.transfers.client import WsgiTransport
from exchange.web import create_app


@pytest.fixture
def pair(instance: Instance) -> Pair:
    """Two schools on this instance that trust each other, and a child leaving the first."""
    url = instance.config["PUBLIC_URL"]
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        introduce(session, sender, receiver, url)
        introduce(session, receiver, sender, url)
        subject, other = child_with_records(session, instance, sender)
        dsl = {
            school.id: session.scalar(select(User.id).filter_by(school_id=school.id, role="dsl"))
            for school in (sender, receiver)
        }
        return Pair(sender.id, receiver.id, dsl[sender.id], dsl[receiver.id], subject.id, other.id)


@pytest.fixture
def transport(instance: Instance) -> Iterator[WsgiTransport]:
    """Deliver through the instance's own web app."""
    app = create_app(dict(instance.config))
    yield WsgiTransport(app)
    app.extensions["exchange"].close()
