"""A child leaving for an unknown destination: the LA's CME officer and the DSLs are told."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from transfer_kit import SUBJECT, child_with_records, school_with_keys

from exchange.db import transaction
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.outbox.models import OutboxMessage
from exchange.outbox.service import written_in
from exchange.partners.destinations import find
from exchange.records.models import School, User
from exchange.tasks import names
from exchange.transfers import workflow
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer
from exchange.transfers.notify import SUBJECTS, send_for
from exchange.transfers.settings import update_settings

LA = "cme.officer@la.example"


def _start(instance: Instance, port: int, destination: str, la_email: str | None) -> None:
    """Start a transfer of the school's leaver to the destination; send its effects by SMTP."""
    mailing = Instance({**instance.config, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port})
    try:
        with transaction(mailing.sessions) as session:
            school = school_with_keys(session, mailing, 1, "bretherton")
            update_settings(school, la_cme_email=la_email, dsl_email="safeguarding@example.org")
            pupil, _ = child_with_records(session, mailing, school)
            dsl = session.scalar(select(User).filter_by(school_id=school.id, role="dsl"))
            partner = find(session, school.id, destination) if destination == "unknown" else None
            if partner is None:
                from transfer_kit import introduce

                other = school_with_keys(session, mailing, 2, "holy_trinity")
                introduce(session, school, other, mailing.config["PUBLIC_URL"])
                from exchange.partners.service import find_partner

                partner = find_partner(session, school.id, other.urn)
            workflow.start(
                session, mailing, school, "create", Actor.of(dsl), pupil=pupil, partner=partner
            )
            pending = written_in(session)
        with transaction(mailing.sessions) as session:
            for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(pending))):
                assert row.task == names.NOTIFY
                send_for(session, mailing, session.get(Transfer, row.args[0]), row.args[1])
    finally:
        mailing.close()


def test_the_la_and_the_dsls_are_told_without_the_childs_name(
    instance: Instance, smtp: tuple[Any, int]
) -> None:
    inbox, port = smtp
    _start(instance, port, "unknown", LA)
    messages = inbox.parsed()
    to_la = [text for to, message, text in messages if to == [LA]]
    assert len(to_la) == 1
    assert "no known destination" in to_la[0]
    assert "children missing education" in to_la[0]
    alerts = [m for to, m, _ in messages if "safeguarding@example.org" in to]
    assert [m["Subject"] for m in alerts] == [SUBJECTS["destination_unknown"]]
    for _to, message, text in messages:
        assert not any(name in text or name in message["Subject"] for name in SUBJECT)


def test_without_an_la_address_only_the_dsls_are_told(
    instance: Instance, smtp: tuple[Any, int]
) -> None:
    inbox, port = smtp
    _start(instance, port, "unknown", None)
    messages = inbox.parsed()
    assert all(LA not in to for to, _message, _text in messages)
    assert [m["Subject"] for _to, m, _text in messages] == [SUBJECTS["destination_unknown"]]


def test_a_known_destination_tells_nobody(instance: Instance, smtp: tuple[Any, int]) -> None:
    inbox, port = smtp
    _start(instance, port, "partner", LA)
    assert inbox.parsed() == []


def test_the_la_address_must_be_an_email_address(instance: Instance) -> None:
    with transaction(instance.sessions) as session:
        school = school_with_keys(session, instance, 1, "bretherton")
        with pytest.raises(ValidationError, match="la_cme_email must be an email address"):
            update_settings(school, la_cme_email="not an address")
        assert isinstance(session.get(School, school.id), School)
