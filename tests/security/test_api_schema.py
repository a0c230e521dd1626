"""Schemathesis against the JSON API's own OpenAPI document, with each school's scoped tokens.

No 500s, every response matches its schema, and nothing a token returns belongs to the other
school (its transfer ids and URN never appear).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sweep_kit import CASE_MARKS, closed_transfer
from web_kit import World

from exchange.auth.tokens import issue_token
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import School, User
from exchange.transfers.models import Transfer

schemathesis = pytest.importorskip("schemathesis")

SCOPE_SETS = (["transfers:read"], ["receipts:read"], ["transfers:read", "receipts:read"])


def _tokens(instance: Instance, world: World) -> list[tuple[str, str]]:
    """Issue each scope set at each school, by its admin; return (school, token) pairs."""
    tokens = []
    with transaction(instance.sessions) as session:
        for name in ("sender", "receiver"):
            school_id = world.sender_id if name == "sender" else world.receiver_id
            admin = session.get(User, world.user(name, "admin"))
            for scopes in SCOPE_SETS:
                _row, secret = issue_token(session, school_id, "schema", scopes, admin.id)
                tokens.append((name, secret))
    return tokens


def _foreign(instance: Instance, world: World) -> dict[str, set[str]]:
    """Return, per school, the strings of the other school that must never appear."""
    with instance.sessions() as session:
        found: dict[str, set[str]] = {}
        for name, school_id, other_id in (
            ("sender", world.sender_id, world.receiver_id),
            ("receiver", world.receiver_id, world.sender_id),
        ):
            other = session.get(School, other_id)
            uids = session.scalars(
                select(Transfer.transfer_uid).where(Transfer.school_id == other_id)
            ).all()
            ours = set(
                session.scalars(
                    select(Transfer.transfer_uid).where(Transfer.school_id == school_id)
                ).all()
            )
            # A shared transfer has one uid at both schools; only the other's own ones count.
            found[name] = (set(uids) - ours) | {other.name}
        return found


def test_api_schema(app: Flask, instance: Instance, world: World) -> None:
    closed_transfer(app, instance, world)
    tokens = _tokens(instance, world)
    foreign = _foreign(instance, world)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.definition.raw["operationId"] for op in operations} >= {
        "listTransfers",
        "getTransfer",
        "listReceipts",
    }
    with instance.sessions() as session:
        known_uids = session.scalars(select(Transfer.transfer_uid)).all()
    calls: list[int] = []

    for operation in operations:

        @settings(
            max_examples=25,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            case=operation.as_strategy(),
            token=st.sampled_from(tokens),
            uid=st.sampled_from(known_uids),
        )
        def run(case: Any, token: tuple[str, str], uid: str) -> None:
            school, secret = token
            if "transfer_uid" in (case.path_parameters or {}) and uid:
                case.path_parameters["transfer_uid"] = uid
            response = case.call_and_validate(headers={"Authorization": f"Bearer {secret}"})
            calls.append(response.status_code)
            assert response.status_code < 500
            body = response.text
            for mark in CASE_MARKS:
                assert mark not in body
            if response.status_code == 200:
                for value in foreign[school]:
                    assert value not in body, (school, value, json.loads(body))

        run()
    assert len(calls) >= 50
    assert 200 in calls
