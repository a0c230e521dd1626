"""Settings precedence and logs that withhold personal data."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from exchange.config import load_config
from exchange.errors import ConfigError
from exchange.logs import configure_logging, get_logger


def test_settings_come_from_defaults_then_file_then_environment_then_tests(tmp_path: Path) -> None:
    (tmp_path / "exchange.toml").write_text('log_level = "WARNING"\nheartbeat_seconds = 5\n')
    environ = {"EXCHANGE_HOME": str(tmp_path), "EXCHANGE_HEARTBEAT_SECONDS": "7"}
    config = load_config(environ=environ)
    assert config["LOG_LEVEL"] == "WARNING"
    assert config["HEARTBEAT_SECONDS"] == 7
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'exchange.sqlite3'}"
    assert config["BROKER_URL"].startswith("sqla+sqlite:///")
    config = load_config({"HEARTBEAT_SECONDS": 9}, environ=environ)
    assert config["HEARTBEAT_SECONDS"] == 9


def test_postgres_urls_use_psycopg_and_redis_brokers_keep_results_in_redis(tmp_path: Path) -> None:
    environ = {
        "EXCHANGE_HOME": str(tmp_path),
        "EXCHANGE_DATABASE_URL": "postgresql://u@127.0.0.1/db",
        "EXCHANGE_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    config = load_config(environ=environ)
    assert config["DATABASE_URL"] == "postgresql+psycopg://u@127.0.0.1/db"
    assert config["RESULT_BACKEND"] == "redis://127.0.0.1:6379/0"


def test_bad_settings_are_reported(tmp_path: Path) -> None:
    (tmp_path / "exchange.toml").write_text("this is = = not toml")
    with pytest.raises(ConfigError, match=r"exchange\.toml"):
        load_config(environ={"EXCHANGE_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="HEARTBEAT_SECONDS"):
        load_config(
            environ={"EXCHANGE_HOME": str(tmp_path / "x"), "EXCHANGE_HEARTBEAT_SECONDS": "soon"}
        )


def test_logs_are_json_and_withhold_personal_fields() -> None:
    stream = io.StringIO()
    configure_logging({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}, stream=stream)
    get_logger("test").info(
        "imported", extra={"pupil_id": 7, "forename": "Generated", "narrative": "secret text"}
    )
    line = json.loads(stream.getvalue())
    assert line["event"] == "imported"
    assert line["pupil_id"] == 7
    assert line["forename"] == "[withheld]"
    assert line["narrative"] == "[withheld]"
    assert "Generated" not in stream.getvalue()
    assert "secret text" not in stream.getvalue()
    logging.getLogger("exchange").handlers.clear()
