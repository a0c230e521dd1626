"""Two separate services (own process, database, worker and port) complete a transfer over HTTP."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from transfer_kit import OTHER_CHILD, child_with_records, school_with_keys

from exchange.db import transaction
from exchange.instance import Instance, open_instance
from exchange.outbox.service import celery_sender, dispatch, written_in
from exchange.partners.service import find_partner
from exchange.records.models import Incident, IncidentAction, Pupil, School, User, VaultDocument
from exchange.tasks.celery_app import make_celery
from exchange.transfers import states, workflow
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer, TransferStep
from exchange.transfers.workflow_types import ActionRefused

pytestmark = [pytest.mark.celery, pytest.mark.slow]
BROKER_URL = os.environ.get("EXCHANGE_TEST_BROKER_URL", "")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Service:
    """One running school service: its settings, its process, and the school it hosts."""

    name: str
    config: dict[str, Any]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    stopping: bool = False
    school_id: int = 0
    dsl_id: int = 0
    instance: Instance = field(init=False)

    def __post_init__(self) -> None:
        self.instance = open_instance(self.config)
        self.config = dict(self.instance.config)

    @property
    def port(self) -> int:
        return int(self.config["PUBLIC_URL"].rsplit(":", 1)[1])

    def start(self) -> None:
        environment = dict(os.environ)
        environment.update(
            {f"EXCHANGE_{k}": str(v) for k, v in self.config.items() if v is not None}
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "exchange", "serve", "--port", str(self.port)],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait(lambda: _listening(self.port), 90, f"{self.name} did not start: {self.tail()}")

    def signal_stop(self) -> None:
        """Ask the service (web, worker and beat) to stop, without waiting for it."""
        if self.process is not None and not self.stopping:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.stopping = True

    def stop(self) -> None:
        if self.process is None:
            return
        self.signal_stop()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process, self.stopping = None, False

    def send(self, ids: list[int]) -> None:
        """Queue committed outbox rows on this service's broker, as the CLI and web do."""
        app = make_celery(self.config)
        dispatch(self.instance.sessions, celery_sender(app), ids)
        app.close()

    def act(self, transfer_id: int, action: str, **inputs: Any) -> None:
        """Take one workflow action as this school's DSL, then queue its effects."""
        with transaction(self.instance.sessions) as session:
            dsl = Actor.of(session.get(User, self.dsl_id))
            transfer = session.get(Transfer, transfer_id)
            workflow.apply(session, self.instance, transfer, action, dsl, **inputs)
            pending = written_in(session)
        self.send(pending)

    def wait_for_vault(self, uid: str) -> None:
        """Wait until this service's worker has redacted the transfer's vault documents."""
        done = _wait(
            lambda: (t := self.transfer(uid)) is not None and t.vault_queued_at is None and t,
            120,
            f"the vault was not redacted: {self.tail()}",
        )
        assert done.vault_done == done.vault_total

    def transfer(self, uid: str) -> Transfer | None:
        with self.instance.sessions() as session:
            return session.scalar(
                select(Transfer).filter_by(school_id=self.school_id, transfer_uid=uid)
            )

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait(condition: Callable[[], Any], seconds: float, message: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(message)


@pytest.fixture
def services(new_database: Callable[[], str], tmp_path: Path) -> Iterator[tuple[Service, Service]]:
    """Two services, A (sending) and B (receiving), enrolled with each other, both running."""
    made = []
    for name in ("a", "b"):
        config: dict[str, Any] = {
            "HOME": tmp_path / name,
            "DATABASE_URL": new_database(),
            "INSTANCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "PUBLIC_URL": f"http://127.0.0.1:{_free_port()}",
            "HEARTBEAT_SECONDS": 5,
        }
        if BROKER_URL:
            config.update(BROKER_URL=BROKER_URL, TASK_QUEUE=f"test-{name}-{secrets.token_hex(4)}")
        made.append(Service(name, config, tmp_path / f"{name}.log"))
    a, b = made
    with transaction(a.instance.sessions) as sa, transaction(b.instance.sessions) as sb:
        school_a = school_with_keys(sa, a.instance, 1, "bretherton")
        school_b = school_with_keys(sb, b.instance, 2, "holy_trinity")
        introduce_across(sa, school_a, sb, school_b, a, b)
        child_with_records(sa, a.instance, school_a)
        a.school_id, b.school_id = school_a.id, school_b.id
        a.dsl_id = sa.scalar(select(User.id).filter_by(school_id=school_a.id, role="dsl"))
        b.dsl_id = sb.scalar(select(User.id).filter_by(school_id=school_b.id, role="dsl"))
    for service in made:
        service.start()
    yield a, b
    for service in made:  # Both stop at once: each worker's warm shutdown takes seconds.
        service.signal_stop()
    for service in made:
        service.stop()
        service.instance.close()


def introduce_across(sa, school_a, sb, school_b, a: Service, b: Service) -> None:  # type: ignore[no-untyped-def]
    """Exchange school cards between the two databases and confirm both ways."""
    from exchange.partners.service import (
        confirm_partner,
        enrol_partner,
        own_card,
        pending_safety_number,
    )

    partner_b = enrol_partner(sa, school_a.id, own_card(sb, school_b, b.config["PUBLIC_URL"]))
    partner_a = enrol_partner(sb, school_b.id, own_card(sa, school_a, a.config["PUBLIC_URL"]))
    dsl_a = sa.scalar(select(User).filter_by(school_id=school_a.id, role="dsl"))
    dsl_b = sb.scalar(select(User).filter_by(school_id=school_b.id, role="dsl"))
    confirm_partner(sa, partner_b, pending_safety_number(sa, partner_b), dsl_a)
    confirm_partner(sb, partner_a, pending_safety_number(sb, partner_a), dsl_b)


def test_a_transfer_completes_over_http_even_when_the_receiver_was_down(
    services: tuple[Service, Service], tmp_path: Path
) -> None:
    a, b = services
    with transaction(a.instance.sessions) as session:
        school = session.get(School, a.school_id)
        dsl = Actor.of(session.get(User, a.dsl_id))
        pupil = next(
            row
            for row in session.scalars(select(Pupil).filter_by(school_id=school.id))
            if row.forename == "Maisie"
        )
        partner = find_partner(session, school.id, "990102")
        transfer = workflow.start(
            session, a.instance, school, "create", dsl, pupil=pupil, partner=partner
        )
        workflow.apply(session, a.instance, transfer, "start_review", dsl)
        transfer_id, uid = transfer.id, transfer.transfer_uid
        pending = written_in(session)
    a.send(pending)  # A's real worker redacts the vault documents, in its pool.
    a.wait_for_vault(uid)
    a.act(transfer_id, "offer")
    offered = _wait(lambda: b.transfer(uid), 60, f"the offer did not arrive: {a.tail()}")
    assert offered.state == states.OFFERED
    assert offered.offered_name == {"given": "Maisie", "family": "Thornbury"}  # Protocol 1.3.
    _receiving_dsl_sees_the_name(b, uid)

    b.act(offered.id, "accept", on_roll_confirmed=True)
    _wait(lambda: a.transfer(uid).state == states.ACCEPTED, 60, f"no acceptance: {b.tail()}")

    b.stop()  # The receiving service goes down before delivery.
    a.act(
        transfer_id,
        "record_conversation",
        held_on=a.transfer(uid).created_at.date(),
        participants="Dsl 1, Dsl 2",
        summary=f"Needs a trusted adult; keep apart from {OTHER_CHILD[0]}.",
    )
    from exchange.transfers.bundle_step import outbox_path

    a.act(transfer_id, "authorise", fresh_second_factor=True)  # Delivery is queued now.
    with a.instance.sessions() as session:  # Keep the bytes sent: A drops them once closed.
        sent_copy = tmp_path / "sent.age"
        sent_copy.write_bytes(
            outbox_path(a.instance, session.get(Transfer, transfer_id)).read_bytes()
        )
    _wait(lambda: a.transfer(uid).delivery_attempts >= 1, 60, f"no delivery attempt: {a.tail()}")
    assert a.transfer(uid).state == states.AUTHORISED
    b.start()

    _wait(lambda: a.transfer(uid).state == states.CLOSED, 120, f"not closed at A: {a.tail()}")
    _wait(lambda: b.transfer(uid).state == states.CLOSED, 60, f"not closed at B: {b.tail()}")
    sent, got = a.transfer(uid), b.transfer(uid)
    assert got.offered_name is None  # Destroyed once imported: the child's record has it.
    assert sent.receipt_jws == got.receipt_jws
    assert sent.countersignature_jws == got.countersignature_jws
    with b.instance.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Incident).filter_by(school_id=b.school_id)
        )
    assert count == 1  # Imported once, although delivery was tried more than once.
    assert not outbox_path(a.instance, sent).exists()  # A keeps the hash, not the bytes.

    pack = tmp_path / "evidence"
    environment = {
        **os.environ,
        **{f"EXCHANGE_{k}": str(v) for k, v in a.config.items() if v is not None},
    }
    subprocess.run(
        [sys.executable, "-m", "exchange", "receipts", "export", uid, "--out", str(pack)],
        env=environment,
        check=True,
        capture_output=True,
    )
    checked = subprocess.run(
        [sys.executable, "-m", "exchange", "receipts", "verify", str(pack)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert "verify" in checked.stdout

    # Over real HTTP too: a replayed offer, a second upload of the same bytes, a forged message.
    from exchange.packaging.keys import SigningKey
    from exchange.transfers.client import HttpTransport
    from exchange.transfers.delivery import partner_url
    from exchange.transfers.messages import BUNDLE_UPLOAD, OFFER, sign_message

    http = HttpTransport()
    with a.instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert http.post(partner_url(transfer, "offers"), transfer.offer_jws).status == 409
        school = session.get(School, a.school_id)
        from exchange.packaging.keys import load_signing_key

        upload = sign_message(
            {
                "transfer_id": uid,
                "ciphertext_sha256": transfer.bundle_sha256,
                "size": transfer.bundle_size,
            },
            load_signing_key(session, school.id, a.instance.instance_key),
            BUNDLE_UPLOAD,
            school.urn,
            "990102",
        )
        digest = base64.b64encode(bytes.fromhex(transfer.bundle_sha256)).decode()
        again = http.put_file(
            partner_url(transfer, "transfers", uid, "bundle"),
            sent_copy,
            {"Content-Digest": f"sha-256=:{digest}:", "Exchange-Message": upload},
        )
        assert again.status == 200
        assert again.body["receipt"] == sent.receipt_jws
        forged = sign_message(
            {"transfer_id": uid}, SigningKey.generate(), OFFER, school.urn, "990102"
        )
        assert http.post(partner_url(transfer, "offers"), forged).status == 403

    # A follow-up after an edit: only the change goes, and B merges it into what it holds.
    first_held = _held_at(b)
    with transaction(a.instance.sessions) as session:
        incident = session.scalars(select(Incident).filter_by(school_id=a.school_id)).first()
        incident.narrative = incident.narrative + f" Corrected: it happened at lunch. {RECALLED}"
        session.add(
            IncidentAction(
                school_id=a.school_id,
                incident_id=incident.id,
                text=f"Parents told of the correction. {RECALLED}",
                acted_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
            )
        )
    follow_id, follow_uid = _send_follow_up(a, b)
    with b.instance.sessions() as session:
        received = session.scalars(select(Incident).filter_by(school_id=b.school_id)).all()
        assert len(received) == 1  # Merged, not duplicated.
        assert received[0].narrative.endswith(f"Corrected: it happened at lunch. {RECALLED}")
        assert [edit.field for edit in received[0].edits] == ["narrative"]
        assert len(received[0].actions) == len(first_held[1]) + 1

    # The follow-up recalled: B undoes its merge, not only what it created.
    _recall_follow_up(a, b, follow_id, follow_uid)
    narrative, actions, history = _held_at(b)
    assert (narrative, actions) == first_held[:2]  # The first transfer's text and actions.
    assert all(RECALLED not in text for text in [narrative, *actions, *history])

    # Another follow-up, which B's DSL rewrites before it is recalled: B keeps its DSL's text,
    # and its DSL is told to review it.
    with transaction(a.instance.sessions) as session:
        incident = session.scalars(select(Incident).filter_by(school_id=a.school_id)).first()
        incident.narrative = incident.narrative + " Second correction."
    again_id, again_uid = _send_follow_up(a, b)
    assert RECALLED in _held_at(b)[0]
    with transaction(b.instance.sessions) as session:
        held = session.scalars(select(Incident).filter_by(school_id=b.school_id)).one()
        held.narrative = "Rewritten at B by its DSL."
    _recall_follow_up(a, b, again_id, again_uid)
    narrative, actions, history = _held_at(b)
    assert (narrative, actions) == ("Rewritten at B by its DSL.", first_held[1])
    assert all(RECALLED not in text for text in [narrative, *actions, *history])
    with b.instance.sessions() as session:
        note = session.scalars(
            select(TransferStep.note)
            .where(TransferStep.transfer_id == b.transfer(again_uid).id)
            .order_by(TransferStep.id.desc())
        ).first()
    assert "1 record(s) changed here after the recalled follow-up" in (note or "")


RECALLED = "Marrowby-4K recalled phrase."


def _send_follow_up(a: Service, b: Service) -> tuple[int, str]:
    """Send the leaving child's file again from A to B and wait until it is closed."""
    follow_id, follow_uid = _draft(a)
    a.act(follow_id, "offer")
    offered = _wait(lambda: b.transfer(follow_uid), 60, f"no follow-up offer: {a.tail()}")
    b.act(offered.id, "accept", on_roll_confirmed=True)
    _wait(lambda: a.transfer(follow_uid).state == states.ACCEPTED, 60, f"no accept: {b.tail()}")
    a.act(
        follow_id,
        "record_conversation",
        held_on=a.transfer(follow_uid).created_at.date(),
        participants="Dsl 1, Dsl 2",
        summary="Follow-up: the narrative was corrected.",
    )
    a.act(follow_id, "authorise", fresh_second_factor=True)
    _wait(lambda: a.transfer(follow_uid).state == states.CLOSED, 120, f"not closed: {a.tail()}")
    return follow_id, follow_uid


def _recall_follow_up(a: Service, b: Service, follow_id: int, follow_uid: str) -> None:
    """Recall a follow-up at A; B's DSL confirms its destruction; wait for A to record it."""
    a.act(follow_id, "recall", reason="About the wrong child.", fresh_second_factor=True)
    got = _wait(
        lambda: (t := b.transfer(follow_uid)).state == states.RECALL_REQUESTED and t,
        60,
        f"no recall: {a.tail()}",
    )
    b.act(got.id, "confirm_destruction", fresh_second_factor=True)
    _wait(lambda: a.transfer(follow_uid).state == states.RECALLED, 60, f"no notice: {b.tail()}")


def _held_at(b: Service) -> tuple[str, list[str], list[str]]:
    """Return B's one incident's narrative, its action texts and every text its edits keep."""
    with b.instance.sessions() as session:
        (incident,) = session.scalars(select(Incident).filter_by(school_id=b.school_id)).all()
        history = [v for e in incident.edits for v in (e.previous_value, e.new_value) if v]
        return incident.narrative, sorted(a.text for a in incident.actions), history


def _receiving_dsl_sees_the_name(b: Service, uid: str) -> None:
    """B's own CLI names the offered child to its DSL, and to nobody who does not say who asks."""
    from totp_kit import acting, enrol

    enrol(b.instance, "dsl2@example.org")
    environment = {
        **os.environ,
        **{f"EXCHANGE_{k}": str(v) for k, v in b.config.items() if v is not None},
    }
    command = [sys.executable, "-m", "exchange", "--school", "990102", "transfers", "show", uid]
    named = subprocess.run(
        [*command, *acting(b.instance, "dsl2@example.org")],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert named.returncode == 0, named.stdout + named.stderr
    assert "Maisie Thornbury (as the offer names them), born 2016-04-02" in named.stdout
    plain = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    assert "Thornbury" not in plain.stdout


def _draft(a: Service) -> tuple[int, str]:
    """Start and review a draft for the leaving child at A; return its id and shared id."""
    with transaction(a.instance.sessions) as session:
        school = session.get(School, a.school_id)
        dsl = Actor.of(session.get(User, a.dsl_id))
        pupil = next(
            row
            for row in session.scalars(select(Pupil).filter_by(school_id=school.id))
            if row.forename == "Maisie"
        )
        partner = find_partner(session, school.id, "990102")
        transfer = workflow.start(
            session, a.instance, school, "create", dsl, pupil=pupil, partner=partner
        )
        workflow.apply(session, a.instance, transfer, "start_review", dsl)
        transfer_id, uid = transfer.id, transfer.transfer_uid
        pending = written_in(session)
    a.send(pending)
    a.wait_for_vault(uid)
    return transfer_id, uid


def test_withdrawal_re_offer_and_recall_reach_the_other_service_over_http(
    services: tuple[Service, Service],
) -> None:
    a, b = services
    # A withdrawal before an answer leaves B's queue.
    first_id, first = _draft(a)
    a.act(first_id, "offer")
    offered = _wait(lambda: b.transfer(first), 60, f"the offer did not arrive: {a.tail()}")
    a.act(first_id, "withdraw", reason="The family is staying.")
    _wait(lambda: b.transfer(first).state == states.WITHDRAWN, 60, f"not withdrawn: {a.tail()}")
    with pytest.raises(ActionRefused):
        b.act(offered.id, "accept", on_roll_confirmed=True)

    # A rejection, answered with a re-offer linked to it.
    second_id, second = _draft(a)
    a.act(second_id, "offer")
    got = _wait(lambda: b.transfer(second), 60, f"the offer did not arrive: {a.tail()}")
    b.act(got.id, "reject", reason="Not on our roll yet")
    _wait(lambda: a.transfer(second).state == states.REJECTED, 60, f"no rejection: {b.tail()}")
    with transaction(a.instance.sessions) as session:
        again = workflow.start(
            session,
            a.instance,
            session.get(School, a.school_id),
            "reoffer",
            Actor.of(session.get(User, a.dsl_id)),
            previous=session.get(Transfer, second_id),
            reason="Her start date is confirmed.",
        )
        again_id, again_uid = again.id, again.transfer_uid
    a.act(again_id, "start_review")
    a.wait_for_vault(again_uid)
    a.act(again_id, "offer")
    linked = _wait(lambda: b.transfer(again_uid), 60, f"no re-offer: {a.tail()}")
    assert (linked.follows_uid, linked.follows_answer) == (second, "Her start date is confirmed.")

    # Delivered, then recalled: B destroys its copy and A records the signed notice.
    b.act(linked.id, "accept", on_roll_confirmed=True)
    _wait(lambda: a.transfer(again_uid).state == states.ACCEPTED, 60, f"no accept: {b.tail()}")
    a.act(
        again_id,
        "record_conversation",
        held_on=a.transfer(again_uid).created_at.date(),
        participants="Dsl 1, Dsl 2",
        summary="Needs a trusted adult.",
    )
    a.act(again_id, "authorise", fresh_second_factor=True)
    _wait(lambda: b.transfer(again_uid).state == states.CLOSED, 120, f"not closed: {a.tail()}")
    _wait(lambda: a.transfer(again_uid).state == states.CLOSED, 60, f"not closed: {b.tail()}")
    a.act(again_id, "recall", reason="Sent before the move was final.", fresh_second_factor=True)
    _wait(
        lambda: b.transfer(again_uid).state == states.RECALL_REQUESTED,
        60,
        f"no recall: {a.tail()}",
    )
    b.act(linked.id, "confirm_destruction", fresh_second_factor=True)
    _wait(lambda: a.transfer(again_uid).state == states.RECALLED, 60, f"no notice: {b.tail()}")
    assert b.transfer(again_uid).state == states.RECALLED
    with b.instance.sessions() as session:
        for model in (Incident, VaultDocument):
            left = session.scalar(
                select(func.count()).select_from(model).filter_by(school_id=b.school_id)
            )
            assert left == 0
