"""Declared kinds of setting and the strict parser for each."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from exchange.errors import ConfigError

TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_WHOLE = re.compile(r"[+-]?\d+")
_DURATION = re.compile(r"(\d+)\s*([smhd]?)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


class Kind(StrEnum):
    """The type a setting's value is parsed into."""

    BOOL = "bool"
    INT = "int"
    DURATION = "duration"  # Whole seconds; "90", "90s", "15m", "8h" or "2d".
    URL = "url"
    PATH = "path"
    LIST = "list"  # Comma-separated in the environment; a TOML array in the file.
    STR = "str"


@dataclass(frozen=True)
class Setting:
    """One setting: its kind, its default and, for numbers, its bounds."""

    kind: Kind
    default: Any = None
    minimum: int = 0
    maximum: int | None = None
    schemes: tuple[str, ...] = ()  # For URLs: the schemes allowed (any if empty).
    secret: bool = False  # Never echo the value in an error.


def parse_setting(key: str, setting: Setting, value: Any) -> Any:
    """Return the value parsed as the setting's kind, or raise ConfigError naming the key."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return setting.default
    try:
        return _PARSERS[setting.kind](value, setting)
    except (TypeError, ValueError) as exc:
        shown = "" if setting.secret else f", not {_shown(value)}"
        raise ConfigError(f"setting {key} {exc}{shown}") from None


def _shown(value: Any) -> str:
    """Show a rejected value briefly."""
    text = repr(value)
    return text if len(text) <= 40 else text[:36] + "...'"


def _bool(value: Any, _setting: Setting) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int):
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError("must be true/false, 1/0 or yes/no")


def _int(value: Any, setting: Setting) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise ValueError("must be a whole number")
    return _bounded(number, setting, "")


def _duration(value: Any, setting: Setting) -> int:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds != int(seconds):
            raise ValueError("must be whole seconds")
        return _bounded(int(seconds), setting, " seconds")
    if isinstance(value, int) and not isinstance(value, bool):
        return _bounded(value, setting, " seconds")
    match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError("must be a duration: whole seconds, or a number with s, m, h or d")
    seconds = int(match.group(1)) * DURATION_UNITS[match.group(2) or "s"]
    return _bounded(seconds, setting, " seconds")


def _bounded(number: int, setting: Setting, unit: str) -> int:
    if number < setting.minimum:
        raise ValueError(f"must be at least {setting.minimum}{unit}")
    if setting.maximum is not None and number > setting.maximum:
        raise ValueError(f"must be at most {setting.maximum}{unit}")
    return number


def _url(value: Any, setting: Setting) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a URL")
    text = value.strip()
    scheme, separator, _rest = text.partition("://")
    if not separator or not _SCHEME.fullmatch(scheme) or any(c.isspace() for c in text):
        raise ValueError("must be a URL (scheme://...)")
    if setting.schemes:
        if scheme.lower() not in setting.schemes:
            raise ValueError(f"must be a URL starting {' or '.join(setting.schemes)}://")
        if not urlsplit(text).hostname:
            raise ValueError("must be a URL with a host name")
    return text


def _path(value: Any, _setting: Setting) -> Path:
    if isinstance(value, str | os.PathLike):
        return Path(value).expanduser()
    raise ValueError("must be a path")


def _list(value: Any, _setting: Setting) -> list[str]:
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise ValueError("must be a comma-separated list")
    return [item.strip() for item in items if item.strip()]


def _str(value: Any, _setting: Setting) -> str:
    if isinstance(value, str):
        return value
    raise ValueError("must be text")


_PARSERS: dict[Kind, Callable[[Any, Setting], Any]] = {
    Kind.BOOL: _bool,
    Kind.INT: _int,
    Kind.DURATION: _duration,
    Kind.URL: _url,
    Kind.PATH: _path,
    Kind.LIST: _list,
    Kind.STR: _str,
}
