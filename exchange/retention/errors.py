"""Errors of the retention package, under the service's one exception root."""

from __future__ import annotations

from exchange.errors import ExchangeError


class RetentionForbidden(ExchangeError):
    """The acting user's role may not do this (e.g. only a DPO releases a hold)."""

    code = "forbidden"
    status_code = 403

    def __init__(self, message: str, *, audit: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.audit = audit


class PurgeBusy(ExchangeError):
    """Another purge of the same school holds the lease: runs never overlap."""

    code = "purge_busy"
    status_code = 409


class InvalidCertificate(ExchangeError):
    """A disposal certificate is malformed or its signature does not verify."""

    code = "invalid_certificate"
    status_code = 422


class BelowFloor(ExchangeError):
    """A rule would keep records for less than the statutory floor of their class."""

    code = "below_statutory_floor"
    status_code = 422

    def __init__(self, message: str, *, audit: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.audit = audit
