"""`exchange partners`: the school card, enrolment and phone confirmation of partners."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from exchange.cli_support import ACT_AS, actor_for
from exchange.db import transaction
from exchange.errors import ValidationError
from exchange.partners.card import SchoolCard
from exchange.partners.models import Partner
from exchange.partners.service import (
    confirm_partner,
    enrol_partner,
    find_partner,
    is_confirmed,
    own_card,
    pending_safety_number,
)
from exchange.records.models import School, User


@click.group()
def partners() -> None:
    """Manage the partner directory: other schools and their keys."""


@partners.command("card")
@click.option("--url", help="This service's public address (default: PUBLIC_URL).")
@click.option("--offline", is_flag=True, help="Publish no address: partners use the offline route.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def card(obj: dict[str, Any], url: str | None, offline: bool, out: Path | None) -> None:
    """Print this school's card, to send to a partner school."""
    with obj["session_factory"]() as session:
        school = session.get(School, obj["school_id"])
        service_url = None if offline else (url or obj["config"]["PUBLIC_URL"])
        text = json.dumps(own_card(session, school, service_url).to_json(), indent=2)
    if out:
        out.write_text(text + "\n")
        click.echo(f"card written to {out}")
    else:
        click.echo(text)


@partners.command("add")
@click.argument("card_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def add(obj: dict[str, Any], card_file: Path) -> None:
    """Enrol a partner from its card; its keys stay unusable until a DSL confirms them."""
    try:
        card = SchoolCard.from_bytes(card_file.read_bytes())
    except ValidationError as exc:
        raise click.UsageError(f"{card_file}: {exc.message}") from exc
    with transaction(obj["session_factory"]) as session:
        partner = enrol_partner(session, obj["school_id"], card)
        number = pending_safety_number(session, partner)
    click.echo(f"enrolled {partner.urn} {partner.name}")
    click.echo(f"safety number to read with their DSL by phone: {number}")


@partners.command("confirm")
@click.argument("urn")
@click.option("--safety-number", required=True, help="The number their DSL read to you.")
@ACT_AS
@click.pass_obj
def confirm(obj: dict[str, Any], urn: str, safety_number: str, act_as: str) -> None:
    """Confirm a partner's keys after reading the safety number together by phone."""
    with transaction(obj["session_factory"]) as session:
        actor = actor_for(session, obj["school_id"], act_as)
        partner = find_partner(session, obj["school_id"], urn)
        confirm_partner(session, partner, safety_number, session.get(User, actor.user_id))
    click.echo(f"keys of {urn} confirmed")


@partners.command("list")
@click.pass_obj
def list_partners(obj: dict[str, Any]) -> None:
    """List the partner directory with each partner's confirmation status."""
    with obj["session_factory"]() as session:
        query = select(Partner).where(Partner.school_id == obj["school_id"]).order_by(Partner.urn)
        for partner in session.scalars(query):
            status = "confirmed" if is_confirmed(session, partner) else "NOT confirmed"
            route = partner.service_url or "offline route"
            click.echo(f"{partner.urn}  {partner.laestab}  {status:<13}  {route}  {partner.name}")


@partners.command("announce-rotation")
@click.option("--old-key", "old_key_id", required=True, help="Key id of the previous signing key.")
@click.pass_obj
def announce_rotation(obj: dict[str, Any], old_key_id: str) -> None:
    """Send this school's new keys to every partner with a service, signed by the old key."""
    from exchange.partners.rotation import announcement
    from exchange.transfers.client import DeliveryError, HttpTransport

    instance = obj["instance"]
    transport = HttpTransport()
    with obj["session_factory"]() as session:
        school = session.get(School, obj["school_id"])
        query = select(Partner).where(
            Partner.school_id == school.id, Partner.service_url.is_not(None)
        )
        for partner in session.scalars(query):
            token = announcement(session, instance, school, old_key_id, partner)
            url = f"{partner.service_url}/s2s/v1/schools/{partner.urn}/key-rotations"
            try:
                reply = transport.post(url, token)
                outcome = "accepted" if reply.status == 200 else f"refused ({reply.status})"
            except DeliveryError as error:
                outcome = f"not reached: {error.message}"
            click.echo(f"{partner.urn}: {outcome}")
