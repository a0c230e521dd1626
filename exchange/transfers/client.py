"""How one school's service talks to another's: real HTTP, or WSGI in the same process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import requests

from exchange.errors import ExchangeError

CONNECT_TIMEOUT = 10
READ_TIMEOUT = 300
JOSE = "application/jose"


class DeliveryError(ExchangeError):
    """The other school's service could not be reached or answered with an error."""

    code = "delivery_error"
    status_code = 502


@dataclass(frozen=True)
class Reply:
    """A partner's answer: the HTTP status and its JSON body."""

    status: int
    body: dict[str, Any]


class Transport(Protocol):
    """Send requests to another school's service."""

    def post(self, url: str, token: str) -> Reply:
        """POST a signed message."""

    def put_file(self, url: str, path: Path, headers: dict[str, str]) -> Reply:
        """PUT a file with headers."""

    def get(self, url: str, headers: dict[str, str]) -> Reply:
        """GET with headers."""


class HttpTransport:
    """One requests session, explicit timeouts, TLS verification on, nothing personal in URLs."""

    def __init__(self, verify: bool | str = True) -> None:
        self._session = requests.Session()
        self._session.verify = verify
        self._session.headers["User-Agent"] = "safeguarding-exchange/1"

    def post(self, url: str, token: str) -> Reply:
        """POST a signed message."""
        return self._call("POST", url, data=token.encode(), headers={"Content-Type": JOSE})

    def put_file(self, url: str, path: Path, headers: dict[str, str]) -> Reply:
        """PUT a file, streamed from disk."""
        with path.open("rb") as handle:
            return self._call(
                "PUT",
                url,
                data=handle,
                headers={
                    **headers,
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(path.stat().st_size),
                },
            )

    def get(self, url: str, headers: dict[str, str]) -> Reply:
        """GET with headers."""
        return self._call("GET", url, headers=headers)

    def _call(self, method: str, url: str, **kwargs: Any) -> Reply:
        try:
            response = self._session.request(
                method,
                url,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise DeliveryError(
                f"cannot reach the other school's service ({type(exc).__name__})"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        return Reply(response.status_code, body if isinstance(body, dict) else {})


class WsgiTransport:
    """Deliver to a school on this same instance through its own web app, without a socket."""

    def __init__(self, app: Any) -> None:
        self._client = app.test_client()

    def post(self, url: str, token: str) -> Reply:
        """POST a signed message."""
        response = self._client.post(
            _path(url), data=token.encode(), headers={"Content-Type": JOSE}
        )
        return Reply(response.status_code, response.get_json(silent=True) or {})

    def put_file(self, url: str, path: Path, headers: dict[str, str]) -> Reply:
        """PUT a file."""
        response = self._client.put(_path(url), data=path.read_bytes(), headers=headers)
        return Reply(response.status_code, response.get_json(silent=True) or {})

    def get(self, url: str, headers: dict[str, str]) -> Reply:
        """GET with headers."""
        response = self._client.get(_path(url), headers=headers)
        return Reply(response.status_code, response.get_json(silent=True) or {})


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
