"""The one exception root of the service and its main branches."""

from __future__ import annotations


class ExchangeError(Exception):
    """Base of every error the service raises on purpose."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def to_dict(self) -> dict[str, str]:
        """Return the one JSON error shape used by the API and the CLI."""
        body = {"error": self.code, "message": self.message}
        if self.where:
            body["where"] = self.where
        return body


class ConfigError(ExchangeError):
    """The service is configured wrongly."""

    code = "config_error"
    status_code = 500


class ValidationError(ExchangeError):
    """Input does not meet the documented format or rules."""

    code = "invalid_input"


class NotFound(ExchangeError):
    """The object does not exist, or belongs to another school."""

    code = "not_found"
    status_code = 404


class CryptoError(ExchangeError):
    """Encrypted data cannot be decrypted or authenticated."""

    code = "crypto_error"
