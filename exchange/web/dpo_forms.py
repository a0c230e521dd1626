"""Read the DPO tools' query strings: periods, pages and UPNs, with errors beside each field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from flask import Response

from exchange.errors import ExchangeError
from exchange.records.upn import validate_upn

MAX_PERIOD_DAYS = 366 * 30


def read_date(args: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    """Return the date in this field, None when empty; note an error when it is not a date."""
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD, for example 2027-03-31"
        return None


def read_period(
    args: Mapping[str, str], today: date, default_days: int, errors: dict[str, str]
) -> tuple[date, date]:
    """Return the period in the 'from' and 'to' fields; default: today and default_days on."""
    since = read_date(args, "from", errors) or today
    until = read_date(args, "to", errors) or since + timedelta(days=default_days)
    if "from" not in errors and "to" not in errors:
        if until < since:
            errors["to"] = "The end of the period must not be before its start"
        elif (until - since).days > MAX_PERIOD_DAYS:
            errors["to"] = "Choose a period of at most 30 years"
    return since, until


def read_upn(args: Mapping[str, str], errors: dict[str, str], name: str = "upn") -> str | None:
    """Return the normalised UPN in this field, None when empty; note what is wrong with it."""
    value = (args.get(name) or "").replace(" ", "").strip()
    if not value:
        return None
    try:
        return validate_upn(value)
    except ExchangeError as exc:
        errors[name] = f"Enter the child's UPN: {exc.message}"
        return None


def read_page(args: Mapping[str, str]) -> int:
    """Return the page number asked for (1 when missing or not a number)."""
    value = args.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 10**6 else 1


def download(data: bytes, mimetype: str, filename: str) -> Response:
    """Return a file to download, never cached."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
