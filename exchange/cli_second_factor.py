"""The acting person's current TOTP code, for every CLI step taken as them: asked, checked, audited.

A command that acts as a person (`--as EMAIL`, `--user-id ID`) runs only once that person's
current code from their authenticator app has been checked exactly as the web checks it
(`exchange.auth.totp.check_code`: the same secret, the same window, the same replay guard,
the same lockout after repeated wrong codes). The code is asked for with hidden input, read
from standard input when that is not a terminal (a script pipes it in), or given with
`--code CODE`. There is deliberately no environment variable: a code is good for one step,
and a variable outlives the command it was meant for and is inherited by every child process.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from exchange.errors import ExchangeError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from exchange.records.models import User

# The audit log, the second-factor checks and the models load only when a code is checked, so
# that a command merely defined with --as/--code (and `--help`) starts quickly.

CONFIRMED_EVENT = "auth.second_factor_confirmed"
REFUSED_EVENT = "auth.cli_second_factor_refused"
REQUEST_ID = "cli"
_CONFIRMED = "exchange.second_factor_user_id"
UserFinder = Callable[["Session", int, Any], "User"]

TOTP_OPTION = click.option(
    "--code",
    "totp_code",
    metavar="CODE",
    help="The acting person's current 6-digit code from their authenticator app "
    "(asked for, hidden, when not given; read from standard input when it is not a terminal).",
)


class SecondFactorRefused(ExchangeError):
    """The acting person's code is missing, wrong, used already, or their account is locked."""

    code = "second_factor_refused"
    status_code = 403

    def __init__(self, message: str, *, audit: dict[str, Any]) -> None:
        super().__init__(message)
        self.audit = audit


def with_second_factor(identity: str, find_user: UserFinder) -> Callable[..., Any]:
    """Wrap a command: check the code of the person its `identity` parameter names, if any."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def checked(*args: Any, **kwargs: Any) -> Any:
            code = kwargs.pop("totp_code")
            if kwargs[identity] is not None:
                confirm_second_factor(find_user, kwargs[identity], code)
            elif code is not None:
                raise click.UsageError("--code is the acting user's code: name them too")
            return command(*args, **kwargs)

        return TOTP_OPTION(checked)

    return decorate


def confirm_second_factor(find_user: UserFinder, identity: Any, given: str | None) -> int:
    """Check the named person's current code (asked for if not given); return their id or refuse."""
    from exchange.audit.refusals import refusal_event
    from exchange.audit.service import record_event
    from exchange.db import transaction

    ctx = click.get_current_context()
    factory, school_id = ctx.obj["session_factory"], ctx.obj["school_id"]
    with factory() as session:
        email = find_user(session, school_id, identity).email
    code = given if given is not None else _ask(email)
    with transaction(factory) as session:
        user = find_user(session, school_id, identity)
        problem = _problem(session, user, ctx.obj["instance"].instance_key, code)
        if problem is None:
            details = {"via": "cli", "command": _command_name(ctx)}
            record_event(
                session,
                user.school_id,
                user.id,
                user.role,
                CONFIRMED_EVENT,
                "user",
                str(user.id),
                REQUEST_ID,
                details,
            )
            ctx.meta[_CONFIRMED] = user.id
            return user.id
        reason = f"{_command_name(ctx)}: {problem}"
        audit = refusal_event(
            user.school_id,
            user.id,
            user.role,
            REFUSED_EVENT,
            "user",
            str(user.id),
            REQUEST_ID,
            reason,
        )
    # Raised after the commit, so a wrong code still counts towards the lockout.
    raise SecondFactorRefused(f"{problem}; nothing was done", audit=audit)


def second_factor_confirmed(user_id: int | None = None) -> bool:
    """Return whether this command checked a current code (of this user, if named)."""
    confirmed = click.get_current_context().meta.get(_CONFIRMED)
    return confirmed is not None and (user_id is None or confirmed == user_id)


def _problem(session: Session, user: User, instance_key: bytes, code: str) -> str | None:
    """Return why the code does not confirm the person now (no names), or None when it does."""
    from exchange.auth import totp
    from exchange.auth.signin import is_locked, record_second_factor_failure

    if not totp.is_enrolled(session, user):
        return (
            "this user has no second factor set up: they sign in to the web app once to set up "
            "their authenticator app, then they can act from the command line"
        )
    if is_locked(session, user):
        return _locked()
    if not code.strip():
        return "no code given: the current code from the acting user's authenticator app is needed"
    problem = totp.code_problem(session, user, instance_key, code)
    if problem is None:
        return None
    if record_second_factor_failure(session, user):
        return _locked()
    return (
        f"that code is wrong, expired or already used ({_cli_words().get(problem, problem)}): "
        "give the next code from the acting user's authenticator app"
    )


def _locked() -> str:
    """Return the refusal for a locked-out user."""
    from exchange.auth.signin import LOCK_MINUTES

    return f"too many wrong codes: this user is locked out for {LOCK_MINUTES} minutes"


def _cli_words() -> dict[str, str]:
    """Return which of the code problems it was, in the command line's words."""
    from exchange.auth import totp

    return {
        totp.WRONG: "it is not the current code",
        totp.EXPIRED: "it expired",
        totp.USED: "it was used already",
        totp.MALFORMED: "a code is 6 digits",
    }


def _ask(email: str) -> str:
    """Read the code: a hidden prompt at a terminal, else one line of standard input."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    try:
        return click.prompt(
            f"Current code from {email}'s authenticator app",
            hide_input=True,
            default="",
            show_default=False,
        )
    except click.Abort:
        return ""


def _command_name(ctx: click.Context) -> str:
    """Return the command as typed after `exchange`, e.g. 'transfers authorise'."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names)) or (ctx.info_name or "")
