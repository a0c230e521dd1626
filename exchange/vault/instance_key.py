"""The instance key that wraps every pupil data key and school private key."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any

from exchange.errors import ConfigError
from exchange.vault.crypto import KEY_BYTES, new_key

KEY_FILE = "instance.key"


def load_instance_key(config: dict[str, Any], *, create: bool = True) -> bytes:
    """Return the instance key from INSTANCE_KEY, or from HOME/instance.key (created if asked)."""
    configured = config.get("INSTANCE_KEY")
    if configured:
        return _decode(configured, "EXCHANGE_INSTANCE_KEY")
    path = Path(config["HOME"]) / KEY_FILE
    if path.exists():
        return _decode(path.read_text().strip(), str(path))
    if not create:
        raise ConfigError(f"no instance key: set EXCHANGE_INSTANCE_KEY or create {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    return key


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{where} is not base64") from exc
    if len(key) != KEY_BYTES:
        raise ConfigError(f"{where} must hold 32 bytes, base64-encoded")
    return key
