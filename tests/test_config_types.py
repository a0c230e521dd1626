"""Every setting has a declared type, parsed strictly from the file and the environment."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from exchange.config import SETTINGS, load_config
from exchange.config_kinds import Kind, Setting, parse_setting
from exchange.errors import ConfigError
from exchange.web import create_app

PACKAGE = Path(__file__).resolve().parents[1] / "exchange"
READ_BY_NAME = re.compile(r"""config(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")

# For each kind: a good value as the environment gives it, what it parses to, and a bad one.
SAMPLES: dict[Kind, tuple[str, Any, str]] = {
    Kind.BOOL: ("No", False, "off"),
    Kind.INT: ("42", 42, "4 2"),
    Kind.DURATION: ("2m", 120, "soon"),
    Kind.URL: ("https://exchange.example.org", "https://exchange.example.org", "not a url"),
    Kind.PATH: ("/srv/exchange", Path("/srv/exchange"), ""),
    Kind.LIST: ("a, b,,c", ["a", "b", "c"], ""),
    Kind.STR: ("some text", "some text", ""),
}


def _load(tmp_path: Path, **variables: str) -> dict[str, Any]:
    environ = {"EXCHANGE_HOME": str(tmp_path)}
    environ.update({f"EXCHANGE_{key}": value for key, value in variables.items()})
    return load_config(environ=environ)


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_each_setting_is_typed_and_parsed_from_the_environment(key: str, tmp_path: Path) -> None:
    setting = SETTINGS[key]
    assert isinstance(setting, Setting), key
    assert set(SAMPLES) == set(Kind)
    good, parsed, bad = SAMPLES[setting.kind]
    if setting.default is not None:
        assert parse_setting(key, setting, setting.default) == setting.default
    if key == "HOME" or setting.maximum is not None:
        return  # HOME is the folder itself; bounded numbers are checked below.
    assert _load(tmp_path, **{key: good})[key] == parsed
    if bad:
        with pytest.raises(ConfigError, match=rf"setting {key} .*\(in the environment\)"):
            _load(tmp_path, **{key: bad})


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_each_setting_is_parsed_from_the_instance_file(key: str, tmp_path: Path) -> None:
    setting = SETTINGS[key]
    if key == "HOME" or setting.default is None:
        return
    value = setting.default
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    (tmp_path / "exchange.toml").write_text(f"{key.lower()} = {text.replace(chr(39), chr(34))}\n")
    assert _load(tmp_path)[key] == value


def test_every_setting_the_code_reads_by_name_is_declared() -> None:
    read = {
        name
        for path in PACKAGE.rglob("*.py")
        for name in READ_BY_NAME.findall(path.read_text())
        if not path.is_relative_to(PACKAGE / "migrations")
    }
    # Flask's own settings are read from app.config under these names too.
    flask_only = {"WTF_CSRF_TIME_LIMIT", "SESSION_COOKIE_SECURE", "PERMANENT_SESSION_LIFETIME"}
    assert read, "the pattern no longer finds any setting"
    assert sorted(read - set(SETTINGS) - flask_only) == []


@pytest.mark.parametrize("word", ["true", "TRUE", "1", "yes", "Yes"])
def test_true_words(word: str, tmp_path: Path) -> None:
    assert _load(tmp_path, RATELIMIT_ENABLED=word)["RATELIMIT_ENABLED"] is True


@pytest.mark.parametrize("word", ["false", "False", "0", "no", "NO"])
def test_false_words(word: str, tmp_path: Path) -> None:
    assert _load(tmp_path, RATELIMIT_ENABLED=word)["RATELIMIT_ENABLED"] is False


@pytest.mark.parametrize("word", ["on", "off", "y", "n", "2", "truthy", "-1", "none"])
def test_other_words_are_refused_naming_the_setting(word: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"setting INSECURE_HTTP_COOKIES_FOR_TESTS must be"):
        _load(tmp_path, INSECURE_HTTP_COOKIES_FOR_TESTS=word)


def test_zero_keeps_secure_cookies_and_false_turns_rate_limits_off(
    tmp_path: Path, instance_config: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXCHANGE_INSECURE_HTTP_COOKIES_FOR_TESTS", "0")
    monkeypatch.setenv("EXCHANGE_RATELIMIT_ENABLED", "false")
    app = create_app(dict(instance_config))
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["RATELIMIT_ENABLED"] is False
    finally:
        app.extensions["exchange"].close()


def test_bounds_units_and_empty_values(tmp_path: Path) -> None:
    assert _load(tmp_path, CHASE_HOUR="23")["CHASE_HOUR"] == 23
    with pytest.raises(ConfigError, match="CHASE_HOUR must be at most 23"):
        _load(tmp_path, CHASE_HOUR="24")
    with pytest.raises(ConfigError, match="SMTP_PORT must be at least 1"):
        _load(tmp_path, SMTP_PORT="0")
    with pytest.raises(ConfigError, match="MAX_BUNDLE_BYTES must be a whole number"):
        _load(tmp_path, MAX_BUNDLE_BYTES="1.5e9")
    assert _load(tmp_path, HEARTBEAT_SECONDS="1h")["HEARTBEAT_SECONDS"] == 3600
    assert (
        load_config({"HOME": tmp_path, "HEARTBEAT_SECONDS": timedelta(days=1)}, environ={})[
            "HEARTBEAT_SECONDS"
        ]
        == 86400
    )
    assert _load(tmp_path, SMTP_PORT="", PURGE_SCHEDULE_SECONDS="")["SMTP_PORT"] == 25
    with pytest.raises(ConfigError, match="PUBLIC_URL must be a URL starting http or https"):
        _load(tmp_path, PUBLIC_URL="ftp://example.org")


def test_secrets_are_not_echoed_and_the_file_is_strict(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, DATABASE_URL="hunter2 password")
    assert "hunter2" not in str(caught.value)
    (tmp_path / "exchange.toml").write_text('ratelimit_enabld = false\nsmtp_port = "25"\n')
    with pytest.raises(ConfigError, match="unknown settings: RATELIMIT_ENABLD"):
        _load(tmp_path)
    (tmp_path / "exchange.toml").write_text("ratelimit_enabled = 'maybe'\n")
    with pytest.raises(ConfigError, match=r"RATELIMIT_ENABLED must be .*exchange\.toml"):
        _load(tmp_path)


def test_settings_already_parsed_parse_to_themselves(tmp_path: Path) -> None:
    config = _load(tmp_path, RATELIMIT_ENABLED="no", BLOB_DIR=str(tmp_path / "b"))
    assert load_config(dict(config), environ={}) == config
    as_text = {f"EXCHANGE_{k}": str(v) for k, v in config.items() if v is not None}
    assert load_config(environ=as_text) == config
