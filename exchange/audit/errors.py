"""Errors raised by the audit log."""

from __future__ import annotations

from exchange.errors import CryptoError, ExchangeError


class ProofError(ExchangeError):
    """A Merkle inclusion or consistency proof does not verify, or cannot be made."""

    code = "invalid_proof"


class InvalidCheckpoint(CryptoError):
    """A signed checkpoint is malformed, signed by an unknown key, or its signature fails."""

    code = "invalid_checkpoint"


class AuditLogError(ExchangeError):
    """The stored audit log cannot be appended to or read as asked."""

    code = "audit_log_error"
    status_code = 409
