"""Configuration: defaults, then the instance file, then EXCHANGE_* variables, then a test dict."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from exchange.errors import ConfigError

ENV_PREFIX = "EXCHANGE_"
INSTANCE_FILE = "exchange.toml"

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # Derived from HOME: a SQLite file in the instance folder.
    "BROKER_URL": None,  # Derived from HOME: a SQLite-backed Celery broker.
    "RESULT_BACKEND": None,  # Redis if the broker is Redis, else a SQLite file in HOME.
    "INSTANCE_KEY": None,  # Base64 of 32 bytes; otherwise read from, or created in, HOME.
    "SECRET_KEY": None,  # Flask session secret; otherwise read from, or created in, HOME.
    "TASK_QUEUE": "exchange",  # Several instances may share one broker with their own queues.
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "json",
    "MAX_VAULT_FILE_BYTES": 256 * 1024 * 1024,
    "MAX_IMPORT_FILES": 10_000,
    "MAX_IMPORT_TOTAL_BYTES": 4 * 1024 * 1024 * 1024,
    "MAX_RECORDS_JSON_BYTES": 256 * 1024 * 1024,
    "MAX_BUNDLE_BYTES": 2 * 1024 * 1024 * 1024,
    "PUBLIC_URL": "http://127.0.0.1:8000",  # How partner schools reach this service.
    "SMTP_HOST": None,  # Without it, alerts are logged (ids only) instead of emailed.
    "SMTP_PORT": 25,
    "SMTP_FROM": "safeguarding-exchange@localhost",
    "DELIVERY_MAX_RETRIES": 8,
    "CHASE_HOUR": 8,
    "CHECKPOINT_SECONDS": 3600,  # How often each school's audit log is checkpointed.
    "METRICS_TOKEN": None,  # If set, /metrics needs "Authorization: Bearer <token>".
    "HEARTBEAT_SECONDS": 30,
    "WORKER_STALE_SECONDS": 120,
}

INT_KEYS = {
    "MAX_VAULT_FILE_BYTES",
    "MAX_IMPORT_FILES",
    "MAX_IMPORT_TOTAL_BYTES",
    "MAX_RECORDS_JSON_BYTES",
    "MAX_BUNDLE_BYTES",
    "SMTP_PORT",
    "DELIVERY_MAX_RETRIES",
    "CHASE_HOUR",
    "CHECKPOINT_SECONDS",
    "HEARTBEAT_SECONDS",
    "WORKER_STALE_SECONDS",
}


def instance_home(environ: dict[str, str] | None = None) -> Path:
    """Return the instance folder: EXCHANGE_HOME, or ./instance."""
    environ = os.environ if environ is None else environ
    return Path(environ.get(f"{ENV_PREFIX}HOME", "instance")).resolve()


def load_config(
    test_config: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> dict[str, Any]:
    """Build the settings in order: defaults, instance file, environment, test dict."""
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = dict(DEFAULTS)
    home = Path(test_config["HOME"]) if test_config and "HOME" in test_config else None
    home = (home or instance_home(environ)).resolve()
    settings["HOME"] = home
    settings.update(_read_instance_file(home / INSTANCE_FILE))
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX) and key != f"{ENV_PREFIX}HOME":
            settings[key.removeprefix(ENV_PREFIX)] = value
    if test_config:
        settings.update(test_config)
    settings["HOME"] = Path(settings["HOME"]).resolve()
    return _finish(settings)


def _read_instance_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    return {key.upper(): value for key, value in data.items()}


def _finish(settings: dict[str, Any]) -> dict[str, Any]:
    home: Path = settings["HOME"]
    for key in INT_KEYS:
        try:
            settings[key] = int(settings[key])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"setting {key} must be a whole number") from exc
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{home / 'exchange.sqlite3'}"
    if not settings["BROKER_URL"]:
        settings["BROKER_URL"] = f"sqla+sqlite:///{home / 'broker.sqlite3'}"
    if not settings["RESULT_BACKEND"]:
        settings["RESULT_BACKEND"] = _default_result_backend(settings["BROKER_URL"], home)
    settings["DATABASE_URL"] = _sqlalchemy_url(settings["DATABASE_URL"])
    return settings


def _default_result_backend(broker_url: str, home: Path) -> str:
    """Keep task results beside the broker: Redis with Redis, else a SQLite file of their own."""
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    return f"db+sqlite:///{home / 'celery-results.sqlite3'}"


def _sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url
