"""The /metrics endpoint: service counters in Prometheus text format, for a bearer token only.

Metrics are never public. Without `METRICS_TOKEN` the endpoint answers 404 to everyone: a
"loopback only" rule would expose them through any reverse proxy on the same host, since
every request it forwards comes from 127.0.0.1. A token shorter than `MIN_TOKEN_CHARS`
stops the app at start-up, so a placeholder cannot be deployed by mistake.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState

from exchange.errors import ConfigError
from exchange.logs import get_logger
from exchange.metrics import CONTENT_TYPE, collect, render

log = get_logger(__name__)
metrics = Blueprint("metrics", __name__)
MIN_TOKEN_CHARS = 32
NO_STORE = {"Cache-Control": "no-store"}


@metrics.record_once
def _check_token(state: BlueprintSetupState) -> None:
    """Refuse to start with a guessable token; say once that metrics are off without one."""
    token = state.app.extensions["exchange"].config.get("METRICS_TOKEN")
    if not token:
        log.warning("metrics are off: /metrics answers 404 until METRICS_TOKEN is set")
        return
    if len(str(token).strip()) < MIN_TOKEN_CHARS:
        raise ConfigError(f"setting METRICS_TOKEN must be at least {MIN_TOKEN_CHARS} characters")


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def bearer_matches(header: str, token: str) -> bool:
    """Return whether an Authorization header carries this bearer token (constant time)."""
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Comparing digests keeps the time independent of both lengths, not only of the content.
    return hmac.compare_digest(_digest(given.strip()), _digest(token.strip()))


@metrics.get("/metrics")
def scrape() -> Any:
    """Return every counter, read from the database now, to a scrape with the token."""
    instance = current_app.extensions["exchange"]
    token = instance.config.get("METRICS_TOKEN")
    if not token:
        return Response("not found\n", status=404, content_type="text/plain", headers=NO_STORE)
    if not bearer_matches(request.headers.get("Authorization", ""), str(token)):
        headers = {**NO_STORE, "WWW-Authenticate": 'Bearer realm="metrics"'}
        return Response("unauthorised\n", status=401, content_type="text/plain", headers=headers)
    with instance.sessions() as session:
        body = render(collect(session))
    return Response(body, content_type=CONTENT_TYPE, headers=NO_STORE)
