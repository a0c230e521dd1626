"""The whole machine, both schools, driven by random actions of random people.

Each example starts a new transfer of the same child between the two schools of one
instance and takes random actions: the right and wrong roles, the wrong school, a stale
second factor, a delivery that fails, a dispatcher that dies after sending, a message
replayed. After every step the invariants below must hold.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select
from transfer_kit import Pair

from exchange.audit.models import AuditEntry
from exchange.auth.permissions import roles_for
from exchange.db import transaction
from exchange.errors import ExchangeError
from exchange.instance import Instance
from exchange.outbox.models import OutboxMessage
from exchange.outbox.service import dispatch, forget_pending, written_in
from exchange.partners.service import find_partner
from exchange.records.models import Pupil, School, User
from exchange.records.schools import add_user
from exchange.tasks import names
from exchange.transfers import states, workflow
from exchange.transfers.actors import SYSTEM_ACTOR, Actor
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import partner_url
from exchange.transfers.effects import inline_sender
from exchange.transfers.incoming import find_transfer
from exchange.transfers.models import INCOMING, Transfer, TransferStep
from exchange.transfers.redaction_step import reviews
from exchange.transfers.settings import update_settings
from exchange.web import create_app

ROLES = ("dsl", "deputy_dsl", "dpo", "admin")
# Re-offers, destinations, recalls and redacting changed records again have their own tests
# (test_notices, test_destinations, test_review_changes).
OWN_TESTS = {"reoffer", "set_destination", "recall", "confirm_destruction", "redact_changes"}
HUMAN_ACTIONS = tuple(
    name
    for name, action in workflow.ACTIONS.items()
    if action.permission != "transfer.system" and name not in OWN_TESTS
)
STATE_EVENTS = {f"transfer.{state}" for state in states.WORDS}
# (sender, receiver) states the two schools may be in once every queued effect has run.
SETTLED_PAIRS = {
    (states.DRAFT, None),
    (states.REDACTION_REVIEW, None),
    (states.OFFERED, states.OFFERED),
    (states.ACCEPTED, states.ACCEPTED),
    (states.REJECTED, states.REJECTED),
    (states.CONVERSATION_RECORDED, states.ACCEPTED),
    (states.FAILED, states.ACCEPTED),
    (states.CLOSED, states.CLOSED),
    # A withdrawal reaches the receiver as a signed notice; before the offer was sent there is
    # nothing to tell, and after a rejection the receiver's copy stays rejected.
    (states.WITHDRAWN, None),
    (states.WITHDRAWN, states.WITHDRAWN),
    (states.WITHDRAWN, states.REJECTED),
}
# CI runs the same 60 examples every time (a fixed seed); a longer random search, which draws
# new examples on every run, is `EXCHANGE_MACHINE_EXAMPLES=2000 pytest <this file>`.
EXAMPLES = int(os.environ.get("EXCHANGE_MACHINE_EXAMPLES", "60"))
RANDOM_SEARCH = "EXCHANGE_MACHINE_EXAMPLES" in os.environ


class TransferMachine(RuleBasedStateMachine):
    """Two schools and one transfer between them, with a model of what was authorised."""

    instance: Instance
    pair: Pair
    app: Flask

    def __init__(self) -> None:
        super().__init__()
        self.transport = WsgiTransport(self.app)
        self.run = inline_sender(self.instance, self.transport)
        self.transfer_id = 0
        self.uid = ""
        self.authorised_digests: set[str] = set()
        self.deputies_may = False
        self.last_messages: list[tuple[str, str]] = []

    @initialize(deputies_may=st.booleans())
    def start(self, deputies_may: bool) -> None:
        """Start a new draft as the sending DSL, with a school setting drawn at random."""
        self.deputies_may = deputies_may
        with transaction(self.instance.sessions) as session:
            school = session.get(School, self.pair.sender_id)
            update_settings(school, deputy_may_authorise=deputies_may)
            receiver = session.get(School, self.pair.receiver_id)
            transfer = workflow.start(
                session,
                self.instance,
                school,
                "create",
                self._actor(session, "sender", "dsl"),
                pupil=session.get(Pupil, self.pair.pupil_id),
                partner=find_partner(session, school.id, receiver.urn),
            )
            self.transfer_id, self.uid = transfer.id, transfer.transfer_uid

    def _actor(self, session: Any, side: str, role: str) -> Actor:
        school_id = self.pair.sender_id if side == "sender" else self.pair.receiver_id
        user = session.scalar(select(User).filter_by(school_id=school_id, role=role))
        return Actor.of(user)

    def _side(self, session: Any, side: str) -> Transfer | None:
        if side == "sender":
            return session.get(Transfer, self.transfer_id)
        return find_transfer(session, self.pair.receiver_id, self.uid, INCOMING)

    def _inputs(self, session: Any, transfer: Transfer, action: str, fresh: bool) -> dict:
        if action == "select_item" and transfer.items:
            item = transfer.items[0]
            return {
                "kind": item.kind,
                "object_id": item.object_id,
                "included": not item.included,
                "reason": "Necessary and proportionate",
            }
        if action == "resolve_flag":
            found = sorted(reviews(session, transfer), key=lambda r: not r.blocks_authorisation)
            return {
                "review_id": found[0].id if found else 0,
                "resolution": "excluded" if found and found[0].kind == "document" else "confirmed",
                "note": "Checked by hand.",
            }
        return {
            "fresh_second_factor": fresh,
            "reason": "A reason",
            "on_roll_confirmed": True,
            "held_on": date.today(),
            "participants": "Dsl 1, Dsl 2",
            "summary": "Needs a trusted adult.",
        }

    @rule(
        action=st.sampled_from(HUMAN_ACTIONS),
        side=st.sampled_from(("sender", "receiver")),
        role=st.sampled_from(ROLES),
        fresh=st.booleans(),
        wrong_school=st.booleans(),
        send_now=st.booleans(),
    )
    def act(
        self, action: str, side: str, role: str, fresh: bool, wrong_school: bool, send_now: bool
    ) -> None:
        self.attempt(action, side, role, fresh, wrong_school, send_now)

    def attempt(
        self, action: str, side: str, role: str, fresh: bool, wrong_school: bool, send_now: bool
    ) -> None:
        """Someone, maybe the wrong person, tries an action; its effects go now, or are left
        for the sweep as after a crash between the commit and the send."""
        session = self.instance.sessions()
        try:
            transfer = self._side(session, side)
            if transfer is None:
                return
            acting_side = (
                side if not wrong_school else ("receiver" if side == "sender" else "sender")
            )
            actor = self._actor(session, acting_side, role)
            inputs = self._inputs(session, transfer, action, fresh)
            try:
                workflow.apply(session, self.instance, transfer, action, actor, **inputs)
            except ExchangeError:
                session.rollback()
                forget_pending(session)
                return
            assert not wrong_school, f"{action} was taken by a user of the other school"
            assert role in roles_for(
                workflow.ACTIONS[action].permission, {"deputy_may_authorise": self.deputies_may}
            )
            if action in ("authorise", "retry"):
                assert fresh, "authorised without a fresh second factor"
                self.authorised_digests.add(transfer.bundle_sha256 or "")
            session.commit()
            pending = written_in(session)
        finally:
            session.close()
        if send_now:
            dispatch(self.instance.sessions, self._record_and_run, pending)

    def _record_and_run(self, task: str, args: list[Any], outbox_id: int) -> None:
        for token_field, which in (("offer_jws", "offer"), ("response_jws", "response")):
            if task == names.SEND_MESSAGE and args[1] == which:
                with self.instance.sessions() as session:
                    token = getattr(session.get(Transfer, args[0]), token_field)
                    self.last_messages.append((which, token))
        self.run(task, args, outbox_id)

    def _next_step(self) -> tuple[str, str] | None:
        """Return the happy path's next action and its side, from the sender's state."""
        sender, receiver = self._states()
        if sender == states.OFFERED:
            return ("accept", "receiver") if receiver == states.OFFERED else None
        if sender == states.REDACTION_REVIEW:
            with self.instance.sessions() as session:
                transfer = session.get(Transfer, self.transfer_id)
                if any(r.blocks_authorisation for r in reviews(session, transfer)):
                    return ("resolve_flag", "sender")
            return ("offer", "sender")
        if sender == states.DRAFT:
            with self.instance.sessions() as session:
                items = session.get(Transfer, self.transfer_id).items
                if not any(item.included for item in items):
                    return ("select_item", "sender")
        following = {
            states.DRAFT: "start_review",
            states.ACCEPTED: "record_conversation",
            states.CONVERSATION_RECORDED: "authorise",
            states.FAILED: "retry",
        }
        return (following[sender], "sender") if sender in following else None

    @rule(send_now=st.booleans())
    def progress(self, send_now: bool) -> None:
        """The right DSL takes the next step, so that examples reach the later states."""
        step = self._next_step()
        if step is not None:
            self.attempt(step[0], step[1], "dsl", True, False, send_now)

    @rule(
        role=st.sampled_from(ROLES),
        fresh=st.booleans(),
        wrong_school=st.booleans(),
        send_now=st.booleans(),
    )
    def anyone_tries_the_next_step(
        self, role: str, fresh: bool, wrong_school: bool, send_now: bool
    ) -> None:
        """The next step of the happy path, tried by anyone: the wrong role, school or factor."""
        step = self._next_step()
        if step is not None:
            self.attempt(step[0], step[1], role, fresh, wrong_school, send_now)

    @rule(send_now=st.booleans())
    def progress_again(self, send_now: bool) -> None:
        """The same, drawn twice as often as a single rule."""
        self.progress(send_now)

    @rule()
    def dispatcher_dies_after_sending(self) -> None:
        """A row is sent but the dispatcher dies before marking it: it will be sent again."""
        with self.instance.sessions() as session:
            row = session.scalar(
                select(OutboxMessage).where(OutboxMessage.dispatched_at.is_(None)).limit(1)
            )
            if row is None:
                return
            task, args, row_id = row.task, list(row.args), row.id
        self._record_and_run(task, args, row_id)

    @rule()
    def sweep(self) -> None:
        """The beat's sweep sends whatever is left unsent."""
        from datetime import timedelta

        dispatch(self.instance.sessions, self._record_and_run, orphaned_after=timedelta(0))

    @rule()
    def delivery_gives_up(self) -> None:
        """The worker ran out of retries while the receiving service was down."""
        with transaction(self.instance.sessions) as session:
            transfer = session.get(Transfer, self.transfer_id)
            if not workflow.allowed(
                session, self.instance, transfer, "delivery_failed", SYSTEM_ACTOR
            ):
                return
            workflow.apply(
                session, self.instance, transfer, "delivery_failed", SYSTEM_ACTOR, note="down"
            )
            pending = written_in(session)
        dispatch(self.instance.sessions, self._record_and_run, pending)

    @rule()
    def replay_a_message(self) -> None:
        """A message already accepted arrives again: refused, and nothing changes."""
        if not self.last_messages:
            return
        which, token = self.last_messages[-1]
        before = self._states()
        with self.instance.sessions() as session:
            transfer = session.get(Transfer, self.transfer_id)
            if which == "offer":
                url = partner_url(transfer, "offers")
            else:
                received = find_transfer(session, self.pair.receiver_id, self.uid, INCOMING)
                url = partner_url(received, "offer-responses")
        reply = self.transport.post(url, token)
        assert 400 <= reply.status < 500, reply
        assert self._states() == before

    def _states(self) -> tuple[str | None, str | None]:
        with self.instance.sessions() as session:
            sent = session.get(Transfer, self.transfer_id)
            got = find_transfer(session, self.pair.receiver_id, self.uid, INCOMING)
            return sent.state, got.state if got else None

    @invariant()
    def only_permitted_people_authorised(self) -> None:
        allowed = roles_for("transfer.authorise", {"deputy_may_authorise": self.deputies_may})
        with self.instance.sessions() as session:
            roles = session.scalars(
                select(User.role)
                .join(TransferStep, TransferStep.user_id == User.id)
                .where(
                    TransferStep.transfer_id == self.transfer_id,
                    TransferStep.to_state == states.AUTHORISED,
                )
            ).all()
        assert set(roles) <= allowed

    @invariant()
    def nothing_leaves_unless_authorised_as_it_is(self) -> None:
        with self.instance.sessions() as session:
            sent = session.get(Transfer, self.transfer_id)
            got = find_transfer(session, self.pair.receiver_id, self.uid, INCOMING)
            if sent.bundle_sha256 is not None:
                assert sent.authorised_at is not None
                assert sent.bundle_sha256 in self.authorised_digests
            if got is not None and got.bundle_sha256 is not None:
                assert got.bundle_sha256 in self.authorised_digests

    @invariant()
    def every_state_change_has_exactly_one_audit_event(self) -> None:
        with self.instance.sessions() as session:
            for school_id in (self.pair.sender_id, self.pair.receiver_id):
                side = session.scalar(
                    select(Transfer.id).filter_by(school_id=school_id, transfer_uid=self.uid)
                )
                if side is None:
                    continue
                steps = session.scalar(
                    select(func.count()).select_from(TransferStep).filter_by(transfer_id=side)
                )
                events = session.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(
                        AuditEntry.school_id == school_id,
                        AuditEntry.object_id == self.uid,
                        AuditEntry.event.in_(STATE_EVENTS),
                    )
                )
                assert steps == events

    @invariant()
    def no_outbox_row_runs_twice(self) -> None:
        with self.instance.sessions() as session:
            sends = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.task == names.SEND_MESSAGE, OutboxMessage.ran_at.is_not(None))
                .where(OutboxMessage.transfer_id.in_(self._row_ids(session)))
            )
            sent_events = session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.object_id == self.uid,
                    AuditEntry.event.in_(
                        (
                            "transfer.offer_sent",
                            "transfer.response_sent",
                            "transfer.notice_sent",
                            "transfer.offer_withheld",
                            "transfer.notice_withheld",
                        )
                    ),
                )
            )
            assert sent_events == sends

    def _row_ids(self, session: Any) -> list[int]:
        return list(session.scalars(select(Transfer.id).filter_by(transfer_uid=self.uid)))

    def teardown(self) -> None:
        """Let every queued effect run; then no row is lost and both schools agree."""
        from datetime import timedelta

        if not self.transfer_id:
            return
        for _ in range(10):
            if not dispatch(self.instance.sessions, self.run, orphaned_after=timedelta(0)):
                break
        with self.instance.sessions() as session:
            ids = self._row_ids(session)
            left = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.transfer_id.in_(ids), OutboxMessage.ran_at.is_(None))
            )
        assert left == 0, "an outbox row was never run"
        if os.environ.get("EXCHANGE_MACHINE_TRACE"):
            print("settled", self._states())
        assert self._states() in SETTLED_PAIRS, self._states()


@pytest.mark.slow
def test_the_workflow_holds_its_invariants_under_random_actions(
    instance: Instance, pair: Pair
) -> None:
    with transaction(instance.sessions) as session:
        for number, school_id in ((1, pair.sender_id), (2, pair.receiver_id)):
            school = session.get(School, school_id)
            add_user(session, school, "deputy_dsl", f"Deputy {number}", f"dep{number}@example.org")
            add_user(session, school, "admin", f"Admin {number}", f"adm{number}@example.org")
    app = create_app(dict(instance.config))
    app.extensions["task_runner"] = inline_sender(instance, WsgiTransport(app))
    TransferMachine.instance, TransferMachine.pair, TransferMachine.app = instance, pair, app
    try:
        machine_test = TransferMachine.TestCase
        machine_test.settings = settings(
            max_examples=EXAMPLES,
            derandomize=not RANDOM_SEARCH,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        machine_test("runTest").runTest()
    finally:
        app.extensions["exchange"].close()
