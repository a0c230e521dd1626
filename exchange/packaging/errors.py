"""The errors raised while reading bundles and exports: a refusal, or a failure of our own."""

from __future__ import annotations

from exchange.errors import ExchangeError


class InvalidBundle(ExchangeError):
    """A bundle failed a verification step; the message says which and why."""

    code = "invalid_bundle"
    status_code = 422


class BundleReadError(ExchangeError):
    """The reader failed for a reason of its own (disk, memory, a bug), not the bundle's."""

    code = "bundle_read_error"
    status_code = 500
