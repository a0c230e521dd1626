"""The refusal every subject access step raises, carrying its audit event."""

from __future__ import annotations

from typing import Any

from exchange.errors import ExchangeError


class RequestRefused(ExchangeError):
    """A step on a subject access request is not allowed now; nothing was changed."""

    code = "subject_access_refused"
    status_code = 409

    def __init__(self, message: str, *, audit: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.audit = audit
