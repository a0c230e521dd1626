"""Configuration: defaults, then the instance file, then EXCHANGE_* variables, then a test dict."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from exchange.config_kinds import Kind, Setting, parse_setting
from exchange.errors import ConfigError

ENV_PREFIX = "EXCHANGE_"
INSTANCE_FILE = "exchange.toml"

SECRET = {"secret": True}

SETTINGS: dict[str, Setting] = {
    # The instance folder: EXCHANGE_HOME, or ./instance.
    "HOME": Setting(Kind.PATH),
    # Derived from HOME: a SQLite file in the instance folder.
    "DATABASE_URL": Setting(Kind.URL, **SECRET),
    # Derived from HOME: a SQLite-backed Celery broker.
    "BROKER_URL": Setting(Kind.URL, **SECRET),
    # Redis if the broker is Redis, else a SQLite file in HOME.
    "RESULT_BACKEND": Setting(Kind.URL, **SECRET),
    # Base64 of 32 bytes; otherwise read from, or created in, HOME.
    "INSTANCE_KEY": Setting(Kind.STR, **SECRET),
    # Flask session secret; otherwise read from, or created in, HOME.
    "SECRET_KEY": Setting(Kind.STR, **SECRET),
    # Folder of the encrypted vault files; HOME/blobs if unset.
    "BLOB_DIR": Setting(Kind.PATH),
    # Several instances may share one broker with their own queues.
    "TASK_QUEUE": Setting(Kind.STR, "exchange"),
    "LOG_LEVEL": Setting(Kind.STR, "INFO"),
    "LOG_FORMAT": Setting(Kind.STR, "json"),
    "MAX_VAULT_FILE_BYTES": Setting(Kind.INT, 256 * 1024 * 1024, minimum=1),
    "MAX_IMPORT_FILES": Setting(Kind.INT, 10_000, minimum=1),
    "MAX_IMPORT_TOTAL_BYTES": Setting(Kind.INT, 4 * 1024 * 1024 * 1024, minimum=1),
    "MAX_RECORDS_JSON_BYTES": Setting(Kind.INT, 256 * 1024 * 1024, minimum=1),
    "MAX_BUNDLE_BYTES": Setting(Kind.INT, 2 * 1024 * 1024 * 1024, minimum=1),
    # Processes that redact, check, convert and read vault documents; 0: one per usable CPU.
    "VAULT_WORKERS": Setting(Kind.INT, 0, minimum=0, maximum=256),
    # How partner schools reach this service.
    "PUBLIC_URL": Setting(Kind.URL, "http://127.0.0.1:8000", schemes=("http", "https")),
    # Without it, alerts are logged (ids only) instead of emailed.
    "SMTP_HOST": Setting(Kind.STR),
    "SMTP_PORT": Setting(Kind.INT, 25, minimum=1, maximum=65535),
    "SMTP_FROM": Setting(Kind.STR, "safeguarding-exchange@localhost"),
    "DELIVERY_MAX_RETRIES": Setting(Kind.INT, 8),
    "CHASE_HOUR": Setting(Kind.INT, 8, maximum=23),
    # How often each school's audit log is checkpointed.
    "CHECKPOINT_SECONDS": Setting(Kind.DURATION, 3600, minimum=1),
    # /metrics answers only "Authorization: Bearer <token>" (32+ characters); unset: 404.
    "METRICS_TOKEN": Setting(Kind.STR, **SECRET),
    "HEARTBEAT_SECONDS": Setting(Kind.DURATION, 30, minimum=1),
    "WORKER_STALE_SECONDS": Setting(Kind.DURATION, 120, minimum=1),
    # Daily purge time, HH:MM Europe/London (checked by exchange.retention.tasks).
    "PURGE_TIME": Setting(Kind.STR, "02:30"),
    # Tests only: fire the purge every N seconds instead of daily.
    "PURGE_SCHEDULE_SECONDS": Setting(Kind.DURATION, minimum=1),
    # Days between a DPO shortening retention and the change taking effect.
    "RETENTION_NOTICE_DAYS": Setting(Kind.INT, 30, minimum=0, maximum=3650),
    # A scheduled purge that would destroy more than this share of a school's records stops.
    "PURGE_VOLUME_GUARD_PERCENT": Setting(Kind.INT, 10, minimum=1, maximum=100),
    # A session ends after this long without a request (and always after SESSION_HOURS).
    "SESSION_IDLE_SECONDS": Setting(Kind.DURATION, 1800, minimum=60),
    "SESSION_HOURS": Setting(Kind.INT, 8, minimum=1),
    # How long an emailed invitation link works.
    "INVITATION_HOURS": Setting(Kind.INT, 24, minimum=1),
    # How long the emailed link to an offline package's download page works after export.
    "OFFLINE_PICKUP_DAYS": Setting(Kind.INT, 14, minimum=1, maximum=90),
    "FRESH_SECOND_FACTOR_SECONDS": Setting(Kind.DURATION, 300, minimum=1),
    # Tests only: session cookies without the Secure flag, for plain-HTTP test servers.
    "INSECURE_HTTP_COOKIES_FOR_TESTS": Setting(Kind.BOOL, False),
    "RATELIMIT_ENABLED": Setting(Kind.BOOL, True),
}
DEFAULTS: dict[str, Any] = {key: setting.default for key, setting in SETTINGS.items()}


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
    settings.update(_read_environment(environ))
    if test_config:
        settings.update(test_config)
        settings.update(_parsed(test_config, "the test settings"))
    settings["HOME"] = Path(settings["HOME"]).resolve()
    return _finish(settings)


def _read_instance_file(path: Path) -> dict[str, Any]:
    """Return the instance file's settings, parsed; unknown names are an error."""
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    values = {key.upper(): value for key, value in data.items()}
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"{path} has unknown settings: {', '.join(unknown)}")
    return _parsed(values, str(path))


def _read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the declared settings given as EXCHANGE_* variables (an empty one is unset)."""
    values = {
        key.removeprefix(ENV_PREFIX): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and key != f"{ENV_PREFIX}HOME" and value.strip()
    }
    # Other EXCHANGE_* names (EXCHANGE_SCHOOL for the CLI, EXCHANGE_TEST_* for tests) are
    # not settings, so only declared names are read.
    return _parsed({k: v for k, v in values.items() if k in SETTINGS}, "the environment")


def _parsed(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Parse each declared setting strictly by its kind; leave other names as they are."""
    parsed = {}
    for key, value in values.items():
        if key in SETTINGS:
            try:
                parsed[key] = parse_setting(key, SETTINGS[key], value)
            except ConfigError as exc:
                raise ConfigError(f"{exc.message} (in {source})") from None
    return parsed


def _finish(settings: dict[str, Any]) -> dict[str, Any]:
    home: Path = settings["HOME"]
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
