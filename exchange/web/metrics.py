"""The /metrics endpoint: service counters in Prometheus text format, no personal data."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, current_app, request

from exchange.metrics import CONTENT_TYPE, collect, render

metrics = Blueprint("metrics", __name__)


def _authorised(token: str | None) -> bool:
    """Return whether the scrape may read the metrics (any, unless METRICS_TOKEN is set)."""
    if not token:
        return True
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), str(token).encode())


@metrics.get("/metrics")
def scrape() -> Any:
    """Return every counter, read from the database now."""
    instance = current_app.extensions["exchange"]
    if not _authorised(instance.config.get("METRICS_TOKEN")):
        return Response("unauthorised\n", status=401, content_type="text/plain")
    with instance.sessions() as session:
        body = render(collect(session))
    return Response(body, content_type=CONTENT_TYPE)
