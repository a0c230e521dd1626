"""Structured JSON logging that keeps personal data out of the logs."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Fields that can hold a child's or a person's data: never written, whatever the caller passes.
PERSONAL_FIELDS = frozenset(
    {
        "name",
        "forename",
        "surname",
        "preferred_name",
        "other_names",
        "email",
        "narrative",
        "text",
        "date_of_birth",
        "dob",
        "upn",
        "address",
        "summary",
        "filename",
        "original_filename",
        "password",
        "passphrase",
        "secret",
    }
)
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line: time, level, logger, event and its id-only fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the JSON line, with personal fields withheld."""
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS or key.startswith("_"):
                continue
            body[key] = "[withheld]" if key.lower() in PERSONAL_FIELDS else value
        if record.exc_info and record.exc_info[0] is not None:
            body["exception"] = record.exc_info[0].__name__
        return json.dumps(body, default=str)


def configure_logging(config: dict[str, Any], stream: Any = None) -> None:
    """Send the service's logs to stderr as JSON lines (or plain text if configured)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if config.get("LOG_FORMAT", "json") == "json":
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger("exchange")
    root.handlers[:] = [handler]
    root.setLevel(str(config.get("LOG_LEVEL", "INFO")).upper())
    root.propagate = False


def get_logger(name: str) -> logging.Logger:
    """Return a logger under the service's namespace."""
    return logging.getLogger(name if name.startswith("exchange") else f"exchange.{name}")
