"""/metrics: counters read from the database, in Prometheus text format, no personal data."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from transfer_kit import OTHER_CHILD, SUBJECT, Pair, offer_transfer

from exchange.audit.service import record_event
from exchange.db import transaction
from exchange.instance import Instance
from exchange.metrics import DELIVERY_RETRY_EVENT, PURGE_FINISHED_EVENT
from exchange.web import create_app
from exchange.web.metrics import metrics

SAMPLE = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? \d+(\.\d+)?$')


@pytest.fixture
def app(instance: Instance) -> Iterator[Flask]:
    """The web app with the metrics blueprint (registered here if the factory does not yet)."""
    made = create_app(dict(instance.config))
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

    response = app.test_client().get("/metrics")

    assert response.status_code == 200
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
    text = app.test_client().get("/metrics").get_data(as_text=True)
    for name in (*SUBJECT, *OTHER_CHILD, "Dsl 1", "dsl1@example.org"):
        assert name not in text


def test_metrics_token_is_required_when_set(instance: Instance) -> None:
    made = create_app({**instance.config, "METRICS_TOKEN": "scrape-secret"})
    if "metrics" not in made.blueprints:
        made.register_blueprint(metrics)
    client = made.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    good = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert good.status_code == 200
    made.extensions["exchange"].close()
