"""Effects go through the outbox: a crash after the commit loses nothing, a resend runs once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from transfer_kit import Pair, actor, start_review

from exchange.db import transaction
from exchange.instance import Instance
from exchange.outbox.models import OutboxMessage
from exchange.outbox.service import dispatch
from exchange.partners.service import find_partner
from exchange.records.models import Pupil, School
from exchange.tasks import names
from exchange.transfers import states, workflow
from exchange.transfers.client import WsgiTransport
from exchange.transfers.effects import inline_sender
from exchange.transfers.models import INCOMING, Transfer

# Takes the offer as the DSL, commits, and dies before anything is sent: as a power cut would.
CRASH_AFTER_COMMIT = textwrap.dedent(
    """
    import os, signal, sys
    from exchange.db import transaction
    from exchange.instance import open_instance
    from exchange.records.models import User
    from exchange.transfers import workflow
    from exchange.transfers.actors import Actor
    from exchange.transfers.models import Transfer

    instance = open_instance()
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, int(sys.argv[1]))
        dsl = Actor.of(session.get(User, int(sys.argv[2])))
        workflow.apply(session, instance, transfer, "offer", dsl)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _in_review(instance: Instance, pair: Pair) -> int:
    with transaction(instance.sessions) as session:
        school = session.get(School, pair.sender_id)
        dsl = actor(session, pair.sender_dsl_id)
        partner = find_partner(session, school.id, session.get(School, pair.receiver_id).urn)
        pupil = session.get(Pupil, pair.pupil_id)
        transfer = workflow.start(
            session, instance, school, "create", dsl, pupil=pupil, partner=partner
        )
        start_review(session, instance, transfer, dsl)
        return transfer.id


def _rows(instance: Instance) -> list[OutboxMessage]:
    with instance.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_crash_between_commit_and_send_loses_nothing_and_sends_once(
    instance: Instance, pair: Pair, transport: WsgiTransport, cli_env: dict[str, str]
) -> None:
    transfer_id = _in_review(instance, pair)
    killed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_COMMIT, str(transfer_id), str(pair.sender_dsl_id)],
        env={**os.environ, **cli_env},
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    [row] = [row for row in _rows(instance) if row.task == names.SEND_MESSAGE]
    assert (row.task, row.args, row.dispatched_at) == (
        names.SEND_MESSAGE,
        [transfer_id, "offer"],
        None,
    )
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == states.OFFERED

    run = inline_sender(instance, transport)
    sent: list[tuple[str, list[Any], int]] = []

    def send(task: str, args: list[Any], outbox_id: int) -> None:
        sent.append((task, args, outbox_id))
        run(task, args, outbox_id)

    # The beat's sweep leaves a row alone while its writer may still send it, then sends it.
    assert dispatch(instance.sessions, send) == 0
    assert dispatch(instance.sessions, send, orphaned_after=timedelta(0)) >= 1
    assert dispatch(instance.sessions, send, orphaned_after=timedelta(0)) == 0
    assert [s[0] for s in sent].count(names.SEND_MESSAGE) == 1
    # A second send of the same row (the dispatcher died before marking it) does nothing.
    run(names.SEND_MESSAGE, [transfer_id, "offer"], row.id)
    with instance.sessions() as session:
        offers = session.scalar(
            select(func.count()).select_from(Transfer).filter_by(direction=INCOMING)
        )
        assert offers == 1
        assert session.get(OutboxMessage, row.id).ran_at is not None
        assert session.get(OutboxMessage, row.id).dispatch_count == 1
