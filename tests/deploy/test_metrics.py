"""/metrics: counters read from the database, in Prometheus text format, no personal data."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from transfer_kit import OTHER_CHILD, SUBJECT, Pair, offer_transfer

from exchange.audit.service import record_event
from exchange.db import transaction
from exchange.errors import ConfigError
from exchange.instance import Instance
from exchange.metrics import DELIVERY_RETRY_EVENT, PURGE_FINISHED_EVENT
from exchange.web import create_app
from exchange.web.metrics import bearer_matches, metrics

TOKEN = "scrape-secret-0123456789abcdefghijklmnop"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SAMPLE = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? \d+(\.\d+)?$')


@pytest.fixture
def app(instance: Instance) -> Iterator[Flask]:
    """The web app with the metrics blueprint and a metrics token."""
    made = create_app({**instance.config, "METRICS_TOKEN": TOKEN})
    if "metrics" not in made.blueprints:
        made.register_blueprint(metrics)
    yield made
    made.extensions["exchange"].close()


def parse(text: str) -> dict[str, float]:
    """Return every sample line as {name{labels}: value}, checking each line's shape."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ ", line), line
            continue
        assert SAMPLE.match(line), line
        key, value = line.rsplit(" ", 1)
        samples[key] = float(value)
    return samples


def test_metrics_count_transfers_retries_and_purges(
    app: Flask, instance: Instance, pair: Pair
) -> None:
    offer_transfer(instance, pair)
    with transaction(instance.sessions) as session:
        for event in (DELIVERY_RETRY_EVENT, DELIVERY_RETRY_EVENT, PURGE_FINISHED_EVENT):
            record_event(session, pair.sender_id, None, "system", event, "transfer", "x")

    response = app.test_client().get("/metrics", headers=AUTH)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.content_type.startswith("text/plain; version=0.0.4")
    samples = parse(response.get_data(as_text=True))
    assert samples["exchange_schools"] == 2
    key = 'exchange_transfers{school="990101",direction="outgoing",state="offered"}'
    assert samples[key] == 1
    assert samples['exchange_delivery_retries_total{school="990101"}'] == 2
    assert samples['exchange_delivery_retries_total{school="990102"}'] == 0
    assert samples['exchange_purges_run_total{school="990101"}'] == 1
    assert samples['exchange_receipts_verified_total{school="990101"}'] == 0
    assert samples['exchange_audit_entries_total{school="990101"}'] > 3


def test_metrics_hold_no_personal_data(app: Flask, instance: Instance, pair: Pair) -> None:
    offer_transfer(instance, pair)
    text = app.test_client().get("/metrics", headers=AUTH).get_data(as_text=True)
    for name in (*SUBJECT, *OTHER_CHILD, "Dsl 1", "dsl1@example.org"):
        assert name not in text


def test_metrics_answer_only_the_bearer_token(app: Flask) -> None:
    client = app.test_client()
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "exchange_" not in anonymous.get_data(as_text=True)
    for header in ("Bearer wrong", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "):
        assert client.get("/metrics", headers={"Authorization": header}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"bearer  {TOKEN}"}).status_code == 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Bearer {TOKEN}", True),
        (f"BEARER {TOKEN} ", True),
        (f"Bearer {TOKEN[:-1]}", False),
        (TOKEN, False),
        (f"Token {TOKEN}", False),
        ("", False),
    ],
)
def test_bearer_matches(header: str, expected: bool) -> None:
    assert bearer_matches(header, TOKEN) is expected


def test_without_a_token_metrics_are_off_even_from_loopback(instance: Instance) -> None:
    made = create_app(dict(instance.config))
    assert made.config.get("METRICS_TOKEN") is None
    client = made.test_client()
    local = {"REMOTE_ADDR": "127.0.0.1"}
    assert client.get("/metrics", environ_base=local).status_code == 404
    assert client.get("/metrics", environ_base=local, headers=AUTH).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    made.extensions["exchange"].close()


@pytest.mark.parametrize("token", ["changeme", "x" * 31, "x" * 20 + " " * 20])
def test_a_short_token_stops_the_app_at_start_up(instance: Instance, token: str) -> None:
    with pytest.raises(ConfigError, match="METRICS_TOKEN must be at least 32 characters"):
        create_app({**instance.config, "METRICS_TOKEN": token})
