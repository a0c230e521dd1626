"""Commands that set up an instance: the database, schools and the first users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import select

from exchange.db import transaction
from exchange.records.models import School, User
from exchange.records.schools import add_school, add_user

if TYPE_CHECKING:
    from exchange.instance import Instance


@click.group()
def db() -> None:
    """Create or upgrade the database."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj: dict[str, Any]) -> None:
    """Apply every migration the database has not had yet."""
    from exchange.migrate import upgrade

    instance: Instance = obj["instance"]
    upgrade(
        instance.engine,
        instance_key=lambda: instance.instance_key,
        wrapping_key_dir=instance.wrapping_key_dir,
    )
    click.echo("database is up to date")


@db.command("check")
@click.pass_obj
def db_check(obj: dict[str, Any]) -> None:
    """Fail if the models and the migrated database disagree."""
    from exchange.migrate import pending_model_changes

    differences = pending_model_changes(obj["instance"].engine)
    if differences:
        for difference in differences:
            click.echo(f"differs: {difference}", err=True)
        raise SystemExit(1)
    click.echo("models and migrations agree")


@click.group()
def schools() -> None:
    """Manage the schools this instance hosts."""


@schools.command("add")
@click.option("--urn", required=True, help="Unique Reference Number (6 digits).")
@click.option("--laestab", required=True, help="LA and establishment number (7 digits).")
@click.option("--name", required=True)
@click.pass_obj
def schools_add(obj: dict[str, Any], urn: str, laestab: str, name: str) -> None:
    """Add a school to this instance."""
    from exchange.migrate import upgrade

    instance: Instance = obj["instance"]
    upgrade(
        instance.engine,
        instance_key=lambda: instance.instance_key,
        wrapping_key_dir=instance.wrapping_key_dir,
    )
    with transaction(instance.sessions) as session:
        school = add_school(session, urn, laestab, name)
        click.echo(f"school {school.urn} ({school.laestab}) {school.name}")


@schools.command("list")
@click.pass_obj
def schools_list(obj: dict[str, Any]) -> None:
    """List the schools this instance hosts."""
    with obj["session_factory"]() as session:
        for school in session.scalars(select(School).order_by(School.urn)):
            click.echo(f"{school.urn}  {school.laestab}  {school.name}")


@click.group()
def users() -> None:
    """Manage the people who sign in."""


@users.command("add")
@click.option("--role", type=click.Choice(["dsl", "deputy_dsl", "dpo", "admin"]), required=True)
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.pass_obj
def users_add(obj: dict[str, Any], role: str, name: str, email: str) -> None:
    """Add a user to the chosen school (the operator's way to add a new school's first users)."""
    from exchange.audit.service import record_event
    from exchange.auth.accounts import needs_approval
    from exchange.auth.invitations import invite
    from exchange.auth.mail import tell_watchers, watchers

    hours = int(obj["config"]["INVITATION_HOURS"])
    with transaction(obj["session_factory"]) as session:
        school = session.get(School, obj["school_id"])
        # A school that already has DSLs or a DPO is told of every powerful account added
        # here; the first DSL of a new school has nobody to approve or tell.
        told = needs_approval(role) and bool(watchers(session, school.id))
        user = add_user(session, school, role, name, email)
        token = invite(session, user, None, hours=hours)
        details = {"role": role, "via": "cli"}
        record_event(session, school.id, None, "operator", "user.added", "user", str(user.id),
                     None, details)  # fmt: skip
        click.echo(f"user {user.id} ({user.role}) added to school {school.urn}")
        what = f"An operator added {user.name} <{user.email}> as {role} from the command line."
        school_id = school.id
    if told:
        with obj["session_factory"]() as session:
            tell_watchers(session, obj["config"], school_id, "A new account was added", what)
        click.echo("The school's DSLs, deputies and DPOs have been emailed about this account.")
    url = obj["config"]["PUBLIC_URL"]
    click.echo(f"Give them this link (valid {hours} hours) to set a password and a second factor:")
    click.echo(f"  {url}/invite/{token}")


@users.command("list")
@click.pass_obj
def users_list(obj: dict[str, Any]) -> None:
    """List the chosen school's users (ids and roles)."""
    with obj["session_factory"]() as session:
        query = select(User).where(User.school_id == obj["school_id"]).order_by(User.id)
        for user in session.scalars(query):
            click.echo(f"{user.id}  {user.role:<10}  {user.email}")
