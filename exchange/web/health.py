"""Health and readiness endpoints for the web server, the database and the worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from exchange.db import utcnow
from exchange.records.models import WorkerHeartbeat
from exchange.tasks.heartbeat import HEARTBEAT_NAME

health = Blueprint("health", __name__)


def _database_status() -> str:
    instance = current_app.extensions["exchange"]
    try:
        with instance.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return "unreachable"
    return "ok"


def _worker_status() -> dict[str, Any]:
    instance = current_app.extensions["exchange"]
    try:
        with instance.sessions() as session:
            row = session.get(WorkerHeartbeat, HEARTBEAT_NAME)
    except SQLAlchemyError:
        return {"status": "unknown"}
    if row is None:
        return {"status": "never seen"}
    age = utcnow() - row.seen_at
    stale = age > timedelta(seconds=instance.config["WORKER_STALE_SECONDS"])
    return {"status": "stale" if stale else "ok", "last_seen": row.seen_at.isoformat()}


@health.get("/healthz")
def healthz() -> Any:
    """Report the database and the worker; 503 unless both are working."""
    database = _database_status()
    worker = _worker_status()
    healthy = database == "ok" and worker["status"] == "ok"
    body = {"status": "ok" if healthy else "degraded", "database": database, "worker": worker}
    return jsonify(body), 200 if healthy else 503


@health.get("/readyz")
def readyz() -> Any:
    """Report whether this web process can serve requests (its database answers)."""
    database = _database_status()
    return jsonify({"status": database}), 200 if database == "ok" else 503
