"""Fuzz the school-to-school HTTP API: random bodies and headers, and validly signed messages
from a trusted partner with hostile payloads. Never a 500; a refusal changes nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from fuzz_kit import bounded
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select, table
from web_kit import World, make_app, make_world

from exchange import jws
from exchange.instance import Instance
from exchange.packaging.keys import load_signing_key
from exchange.records.models import School
from exchange.transfers import messages

ROUTES = [
    ("POST", "/offers", messages.OFFER),
    ("POST", "/offer-responses", messages.OFFER_RESPONSE),
    ("POST", "/key-rotations", messages.KEY_ROTATION),
    ("PUT", "/transfers/{t}/bundle", messages.BUNDLE_UPLOAD),
    ("GET", "/transfers/{t}/receipt", messages.FETCH),
    ("POST", "/transfers/{t}/countersignature", messages.COUNTERSIGNATURE),
    ("GET", "/checkpoint", messages.FETCH),
]
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(max_size=30)
    | st.sampled_from(["tr-1", "0" * 64, "900001", "complete", "accept", "decline", ""]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = ["transfer_id", "offer_sha256", "pupil", "decision", "keys", "receipt", "files", "x"]


@pytest.fixture
def world(instance: Instance) -> World:
    """Two schools that trust each other."""
    return make_world(instance)


@pytest.fixture
def app(instance: Instance) -> Iterator[Flask]:
    """Return the web app."""
    yield from make_app(instance)


def counts(instance: Instance) -> dict[str, int]:
    """Return the row count of every table except the replay log and the audit trail."""
    names = inspect(instance.engine).get_table_names()
    with instance.engine.connect() as connection:
        return {
            name: connection.scalar(select(func.count()).select_from(table(name))) for name in names
        }


@pytest.fixture
def parties(instance: Instance, world: World) -> dict[str, Any]:
    """Return the receiver's URN and the sender's URN and signing key."""
    with instance.sessions() as session:
        return {
            "to": session.get(School, world.receiver_id).urn,
            "from": session.get(School, world.sender_id).urn,
            "key": load_signing_key(session, world.sender_id, instance.instance_key),
        }


def _url(parties: dict[str, Any], path: str, transfer: str) -> str:
    return f"/s2s/v1/schools/{parties['to']}" + path.format(t=transfer)


@bounded(60)
@given(
    route=st.sampled_from(ROUTES),
    body=st.binary(max_size=300),
    content_type=st.sampled_from(["application/jose", "application/json", "text/plain", ""]),
    headers=st.dictionaries(
        st.sampled_from(["Content-Length", "Authorization", "X-Sgx-Message", "Content-Encoding"]),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
        max_size=2,
    ),
    transfer=st.sampled_from(["tr-1", "../x", "%00", "a" * 300]),
)
def test_random_requests(
    app: Flask,
    parties: dict[str, Any],
    route: tuple[str, str, str],
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    transfer: str,
) -> None:
    method, path, _typ = route
    client = app.test_client()
    try:
        response = client.open(
            _url(parties, path, transfer),
            method=method,
            data=body,
            content_type=content_type or None,
            headers=headers,
        )
    except ValueError:
        return  # The test client refuses to send it (a bad Content-Length); so would WSGI.
    assert response.status_code < 500, response.get_data()[:300]


@bounded(80)
@given(
    route=st.sampled_from(ROUTES),
    typ=st.sampled_from([*(r[2] for r in ROUTES), messages.RECEIPT, "sgx-unknown+jws"]),
    fields=st.dictionaries(st.sampled_from(FIELDS), values, max_size=4),
    envelope=st.dictionaries(st.sampled_from(["v", "iat", "iss", "aud", "id"]), values, max_size=2),
)
def test_signed_hostile_messages(
    app: Flask,
    instance: Instance,
    parties: dict[str, Any],
    route: tuple[str, str, str],
    typ: str,
    fields: dict[str, Any],
    envelope: dict[str, Any],
) -> None:
    method, path, _route_typ = route
    payload = {
        "v": messages.MESSAGE_VERSION,
        "id": str(uuid.UUID(int=len(repr(fields)) + 7 * len(repr(envelope)))),
        "iat": int(time.time()),
        "iss": parties["from"],
        "aud": parties["to"],
        **fields,
        **envelope,
    }
    token = jws.sign(payload, parties["key"], typ)
    before = counts(instance)
    response = app.test_client().open(
        _url(parties, path, str(fields.get("transfer_id", "tr-1"))[:80] or "tr-1"),
        method=method,
        data=token,
        content_type="application/jose",
    )
    assert response.status_code < 500, response.get_data()[:300]
    if response.status_code >= 400:
        after = counts(instance)
        changed = {k for k in after if after[k] != before[k]}
        # A refusal may be logged (audit) and remembered against replay; nothing else.
        assert changed <= {"audit_events", "seen_messages", "audit_checkpoints"}, changed
