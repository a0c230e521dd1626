"""Helpers shared by the command-line groups: acting users and transfer look-ups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.cli_second_factor import with_second_factor
from exchange.db import transaction
from exchange.errors import NotFound
from exchange.records.models import User
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer


def user_by_email(session: Session, school_id: int, email: str) -> User:
    """Return the active user of this school with this email, or stop with a clear message."""
    user = session.scalar(
        select(User).where(
            User.school_id == school_id,
            User.email == email.strip().lower(),
            User.is_active.is_(True),
        )
    )
    if user is None:
        raise click.UsageError(f"no active user {email!r} at this school")
    return user


def user_by_id(session: Session, school_id: int, user_id: int) -> User:
    """Return the active user of this school with this id, or refuse."""
    user = session.get(User, user_id)
    if user is None or user.school_id != school_id or not user.is_active:
        raise NotFound(f"no active user {user_id} at this school")
    return user


def act_as(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --as EMAIL and --code CODE: the step runs only after that person's code checks."""
    checked = with_second_factor("act_as", user_by_email)(command)
    return click.option(
        "--as",
        "act_as",
        required=True,
        envvar="EXCHANGE_USER",
        help="Email of the user of this school taking the step (recorded in the audit log); "
        "their current authenticator code is needed.",
    )(checked)


def acting_user_id(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add --user-id ID and --code CODE: a named user's code is checked before the step."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        checked = with_second_factor("user_id", user_by_id)(command)
        return click.option("--user-id", type=int, help=help_text)(checked)

    return decorate


ACT_AS = act_as


def actor_for(session: Session, school_id: int, email: str) -> Actor:
    """Return the actor for a user of this school, or stop with a clear message."""
    return Actor.of(user_by_email(session, school_id, email), request_id="cli")


def transfer_for(session: Session, school_id: int, reference: str) -> Transfer:
    """Return this school's transfer by its id or a unique prefix of at least 8 characters."""
    reference = reference.strip().lower()
    if len(reference) < 8:
        raise click.UsageError("give at least the first 8 characters of the transfer id")
    matches = session.scalars(
        select(Transfer).where(
            Transfer.school_id == school_id, Transfer.transfer_uid.startswith(reference)
        )
    ).all()
    if len(matches) != 1:
        raise click.UsageError(f"{len(matches)} transfers of this school match {reference!r}")
    return matches[0]


@contextmanager
def transfer_step(
    obj: dict[str, Any], reference: str, act_as: str
) -> Iterator[tuple[Session, Transfer, Actor]]:
    """Open one transaction with this school's transfer and the user taking the step."""
    with transaction(obj["session_factory"]) as session:
        school_id = obj["school_id"]
        yield (
            session,
            transfer_for(session, school_id, reference),
            actor_for(session, school_id, act_as),
        )
