"""The one column type of sealed fields: it writes only values sealed for their row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from exchange.errors import CryptoError
from exchange.vault.fields import KINDS, encode_value, seal


class ClearTextWrite(CryptoError):
    """Something tried to write a sealed column without sealing the value."""

    code = "clear_text_write"


@dataclass(frozen=True, eq=False)
class SealFor:
    """A value on its way to a sealed column, with the field key and context to seal it."""

    value: Any
    key: bytes
    context: bytes

    def __repr__(self) -> str:
        """Say nothing of the value or the key."""
        return "SealFor(<sealed>)"


class Sealed(TypeDecorator[Any]):
    """A text, JSON or date value stored AES-GCM sealed with its pupil's key (see events)."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, kind: str = "text") -> None:
        """Remember what the value is (text, json or date)."""
        if kind not in KINDS:
            raise ValueError(f"unknown sealed kind {kind!r}")
        super().__init__()
        self.kind = kind

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:  # noqa: ARG002
        """Seal a SealFor value; refuse anything else, so clear text never reaches the table."""
        if value is None:
            return None
        if not isinstance(value, SealFor):
            raise ClearTextWrite(
                "refusing to write a sealed column in clear: write it through the ORM"
            )
        return seal(value.key, value.context, encode_value(self.kind, value.value))

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:  # noqa: ARG002
        """Return the sealed bytes; the ORM load event opens them."""
        return None if value is None else bytes(value)

    def compare_values(self, x: Any, y: Any) -> bool:
        """Treat a value about to be sealed as always changed."""
        if isinstance(x, SealFor) or isinstance(y, SealFor):
            return False
        return bool(x == y)
