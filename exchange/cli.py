"""The `exchange` command line: one group whose commands are imported only when they run."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from exchange.cli_commands import COMMANDS
from exchange.cli_lazy import LazyGroup
from exchange.errors import ExchangeError

if TYPE_CHECKING:
    from exchange.instance import Instance


class CliState(dict[str, Any]):
    """ctx.obj: opens the instance and picks the school only when a command needs them."""

    def __init__(self, school_urn: str | None) -> None:
        super().__init__()
        self.school_urn = school_urn

    def __missing__(self, key: str) -> Any:
        value = self._compute(key)
        self[key] = value
        return value

    def _compute(self, key: str) -> Any:
        if key == "instance":
            from exchange.instance import open_instance
            from exchange.logs import configure_logging

            instance = open_instance()
            configure_logging(instance.config)
            # Closed with the whole command, not the subcommand: a refusal is audited after it.
            click.get_current_context().find_root().call_on_close(instance.close)
            return instance
        instance: Instance = self["instance"]
        if key == "session_factory":
            return instance.sessions
        if key == "instance_key":
            return instance.instance_key
        if key == "config":
            return instance.config
        if key == "school_id":
            return _resolve_school(instance, self.school_urn)
        if key == "signing_key":
            from exchange.packaging.keys import load_signing_key

            with instance.sessions() as session:
                return load_signing_key(session, self["school_id"], instance.instance_key)
        if key == "public_keys":
            from exchange.packaging.keys import KIND_SIGNING, all_public_keys, public_key_of

            with instance.sessions() as session:
                rows = all_public_keys(session, self["school_id"], KIND_SIGNING)
                return {row.key_id: public_key_of(row) for row in rows}
        raise KeyError(key)


def _resolve_school(instance: Instance, urn: str | None) -> int:
    from sqlalchemy import select

    from exchange.records.models import School

    with instance.sessions() as session:
        schools = session.scalars(select(School).order_by(School.urn)).all()
    if urn:
        for school in schools:
            if urn in (school.urn, school.laestab):
                return school.id
        raise click.UsageError(f"no school with URN or LAESTAB {urn} on this instance")
    if len(schools) == 1:
        return schools[0].id
    if not schools:
        raise click.UsageError("no school on this instance yet: run `exchange schools add`")
    raise click.UsageError(
        "this instance hosts several schools: choose one with --school URN "
        "(or EXCHANGE_SCHOOL); they are " + ", ".join(f"{s.urn} {s.name}" for s in schools)
    )


class ExchangeGroup(LazyGroup):
    """A group that turns the service's own errors into a clear message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, reporting ExchangeError without a traceback."""
        try:
            return super().invoke(ctx)
        except ExchangeError as exc:
            _audit_refusal(ctx, exc)
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


def _audit_refusal(ctx: click.Context, error: ExchangeError) -> None:
    """Keep a refusal that matters in the audit log; the refused step itself changed nothing."""
    if not getattr(error, "audit", None) or not isinstance(ctx.obj, CliState):
        return
    from exchange.audit.refusals import record_refusal
    from exchange.db import transaction

    with transaction(ctx.obj["session_factory"]) as session:
        record_refusal(session, error)


@click.group(cls=ExchangeGroup, lazy_commands=COMMANDS)
@click.option("--school", envvar="EXCHANGE_SCHOOL", help="URN or LAESTAB of the school to act for.")
@click.version_option(package_name="safeguarding-exchange")
@click.pass_context
def main(ctx: click.Context, school: str | None) -> None:
    """Move a child's safeguarding file between schools: redacted, encrypted, receipted."""
    ctx.obj = CliState(school)
