"""The one error raised for untrusted bundle and export input."""

from __future__ import annotations

from exchange.errors import ExchangeError


class InvalidBundle(ExchangeError):
    """A bundle failed a verification step; the message says which and why."""

    code = "invalid_bundle"
    status_code = 422
