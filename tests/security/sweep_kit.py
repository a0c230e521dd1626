"""Seed both schools with marked case content and collect real ids of each kind per school."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flow import complete, start_and_offer
from offline_kit import authorised_offline_transfer
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.auth.accounts import request_account
from exchange.auth.models import AccountApproval, ApiToken
from exchange.auth.tokens import issue_token
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Incident, IncidentAction, Pupil, School, User
from exchange.records.schools import add_user
from exchange.transfers.models import Transfer

# Unique markers: a narrative, an action's text; plus the vault document's text.
NARRATIVE_MARK = "zqx-narrative-7f3a"
ACTION_MARK = "zqx-action-91c2"
CASE_MARKS = (NARRATIVE_MARK, ACTION_MARK, "pushed her at break", "Core group minutes")


@dataclass
class Ids:
    """Real ids of one school, by URL parameter name."""

    values: dict[str, Any] = field(default_factory=dict)


def closed_transfer(app: Flask, instance: Instance, world: World) -> int:
    """Run a transfer from the sender to the receiver to the end; return the sender's id."""
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    complete(sender, receiver, instance, world.receiver_id, transfer_id)
    return transfer_id


def exported_offline_transfer(app: Flask, instance: Instance, world: World) -> int:
    """Export an offline transfer at the sender; return its id."""
    from flow import post

    client: FlaskClient = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    transfer_id = authorised_offline_transfer(client, instance, world.sender_id, world.pupil_id)
    post(client, f"/transfers/{transfer_id}/export", status=200)
    return transfer_id


def mark_case_content(instance: Instance, world: World) -> None:
    """Add an incident with marked narrative and action text to every pupil of both schools."""
    with transaction(instance.sessions) as session:
        for pupil in session.scalars(select(Pupil)):
            template = session.scalars(
                select(Incident).where(Incident.school_id == pupil.school_id)
            ).first()
            incident = Incident(
                school_id=pupil.school_id,
                pupil_id=pupil.id,
                occurred_at=datetime(2026, 10, 3, 10, 0, tzinfo=UTC),
                recorded_at=datetime(2026, 10, 3, 11, 0, tzinfo=UTC),
                narrative=f"Seen at the gate. {NARRATIVE_MARK}",
                status="open",
            )
            if template is not None:
                incident.categories.extend(template.categories)
            session.add(incident)
            session.flush()
            session.add(
                IncidentAction(
                    school_id=pupil.school_id,
                    incident_id=incident.id,
                    text=f"Called home. {ACTION_MARK}",
                    acted_at=datetime(2026, 10, 3, 12, 0, tzinfo=UTC),
                )
            )


def school_ids(instance: Instance, school_id: int, spare_user_id: int) -> dict[str, Any]:
    """Return real values of each URL parameter that belong to this school."""
    with instance.sessions() as session:
        school = session.get(School, school_id)
        transfers = session.scalars(
            select(Transfer).where(Transfer.school_id == school_id).order_by(Transfer.id)
        ).all()
        pupil = session.scalars(select(Pupil).where(Pupil.school_id == school_id)).first()
        token = session.scalars(select(ApiToken).where(ApiToken.school_id == school_id)).first()
        approval = session.scalars(
            select(AccountApproval).where(AccountApproval.school_id == school_id)
        ).first()
        return {
            "transfer_id": transfers[0].id if transfers else 0,
            "transfer_uid": transfers[0].transfer_uid if transfers else "none",
            "pupil_id": pupil.id if pupil else 0,
            "user_id": spare_user_id,
            "token_id": token.id if token else 0,
            "hold_id": 1,
            "change_id": 1,
            "approval_id": approval.id if approval else 0,
            "urn": school.urn,
            "token": "not-an-invitation",
            "filename": "missing.css",
            # No subject access request is seeded: 0 must answer 404 for everyone.
            "request_id": 0,
            # The viewer's routes: a review or document that is not this school's answers 404.
            "review_id": 0,
            "document_id": 0,
            # No purge runs in the sweep: certificate 0 answers 404 (tests/web/test_dpo_tools.py
            # checks another school's real certificate answers 404 too).
            "certificate_id": 0,
            "page": 1,
            "side": "original",
            # No batch is seeded: batch 0 answers 404 for everyone.
            "batch_id": 0,
        }


def prepare(app: Flask, instance: Instance, world: World) -> dict[str, dict[str, Any]]:
    """Seed transfers, tokens, spare users and marked content; return ids per school."""
    closed_transfer(app, instance, world)
    exported_offline_transfer(app, instance, world)
    mark_case_content(instance, world)
    spare: dict[str, int] = {}
    with transaction(instance.sessions) as session:
        for name, school_id in (("sender", world.sender_id), ("receiver", world.receiver_id)):
            school = session.get(School, school_id)
            user = add_user(session, school, "dsl", f"Spare {name}", f"spare-{name}@example.org")
            spare[name] = user.id
            admin = session.get(User, world.user(name, "admin"))
            issue_token(session, school_id, "sweep", ["transfers:read"], admin.id)
            request_account(session, school, admin, "dsl", "Asked For", f"ask-{name}@example.org")
    return {
        "sender": school_ids(instance, world.sender_id, spare["sender"]),
        "receiver": school_ids(instance, world.receiver_id, spare["receiver"]),
    }
