"""`exchange demo`: fill the instance with two invented schools and a dozen invented pupils."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from exchange.instance import Instance


@click.command("demo")
@click.pass_obj
def demo(obj: dict[str, Any]) -> None:
    """Load synthetic demo data (safe to run again: nothing is duplicated)."""
    # The generators pull in ReportLab, pikepdf and argon2: imported only to run.
    from exchange.demo.load import load_demo, school_counts
    from exchange.demo.signin import DEMO_PASSWORD, demo_logins
    from exchange.demo.transfer import complete_demo_transfer

    instance: Instance = obj["instance"]
    data, summary = load_demo(instance)
    transfer = complete_demo_transfer(instance, data)
    click.echo(summary.line())
    with instance.sessions() as session:
        schools = school_counts(session, data)
    click.echo("")
    click.echo("Demo schools on this instance (all names are generated):")
    for school in schools:
        counts = school.counts
        click.echo(f"  {school.urn} (LAESTAB {school.laestab})  {school.name}")
        click.echo(f"    category tree: preset {school.preset}, {counts['categories']} categories")
        click.echo(f"    users: {counts['users']}; staff who wrote records: {counts['staff']}")
        if counts["pupils"]:
            click.echo(
                f"    pupils: {counts['pupils']} ({school.leaving} leaving); "
                f"incidents: {counts['incidents']}, actions: {counts['actions']}, "
                f"edits: {counts['edits']}; vault documents: {counts['documents']}"
            )
    click.echo("")
    click.echo("Users:")
    for school in data.schools:
        for person in data.users[school.urn]:
            click.echo(f"  {school.urn}  {person.role:<11} {person.name} <{person.email}>")
    click.echo("")
    click.echo(
        f"Sign in at /login on the address `exchange serve` prints, with the password "
        f"{DEMO_PASSWORD!r}"
    )
    click.echo("and the six-digit code from an authenticator app set up with the secret below")
    click.echo("(or `python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"`):")
    for login in demo_logins(instance, data):
        click.echo(
            f"  {login.school_urn}  {login.role:<6} {login.email}  secret {login.totp_secret}"
        )
    if transfer is not None:
        click.echo("")
        click.echo(
            f"Demo transfer {transfer.transfer_uid}: {transfer.state} "
            "(receipt signed by both schools)"
        )
        click.echo("See it with: exchange --school " + data.schools[0].urn + " transfers list")
    click.echo("")
    click.echo("See both category trees with: exchange policy show")
