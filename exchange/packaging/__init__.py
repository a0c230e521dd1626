"""Turn a child's selected, redacted records into the bytes that travel, and back."""

from exchange.packaging.errors import InvalidBundle

__all__ = ["InvalidBundle"]
