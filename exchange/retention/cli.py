"""`exchange retention`, `exchange purge` and `exchange holds`.

Every command reads ctx.obj["session_factory"] (a sessionmaker), ctx.obj["school_id"] (the
chosen school) and ctx.obj["instance"] (for the instance key and the blob store).

Acting user: commands that change something a person decides (holds, rules) need
``--user-id`` naming an active user of the school whose role may do it (a hold is released
only by a DPO). ``purge`` acts as the system actor (as the scheduled task does) unless
``--user-id`` names a DPO or DSL; ``forecast`` and dry runs change nothing and name no one.
``holds add`` and ``holds release`` also need that user's current authenticator code
(``--code``, or asked for): see exchange.cli_second_factor.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session, sessionmaker

from exchange.auth.permissions import ROLES, refusal, roles_for
from exchange.cli_support import acting_user_id
from exchange.db import transaction
from exchange.errors import NotFound
from exchange.instance import Instance
from exchange.retention.actors import (
    SYSTEM,
    Actor,
    load_actor,
)
from exchange.retention.errors import RetentionForbidden
from exchange.retention.forecast import DEFAULT_DAYS, Forecast, forecast, held_because
from exchange.retention.rules import london_today

_DATE = click.DateTime(formats=["%Y-%m-%d"])
PURGERS = tuple(sorted(roles_for("run_purge")))


def _ctx(obj: dict[str, Any]) -> tuple[sessionmaker[Session], int, Instance]:
    return obj["session_factory"], obj["school_id"], obj["instance"]


def _actor(session: Session, school_id: int, user_id: int | None, roles: tuple[str, ...]) -> Actor:
    if user_id is None:
        raise click.UsageError("name the acting user with --user-id")
    return load_actor(session, school_id, user_id, roles)


def _print_forecast(result: Forecast, as_json: bool, heading: str) -> None:
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    totals = result.totals()
    click.echo(heading)
    click.echo(
        f"  {totals['incidents']} incidents and {totals['documents']} documents of "
        f"{totals['pupils']} pupils (rule set v{result.rule_set_version}); held: {totals['held']}"
    )
    for name, count in totals["incidents_by_category"].items():
        click.echo(f"  incidents  {count:>6}  {name}")
    for name, count in totals["documents_by_type"].items():
        click.echo(f"  documents  {count:>6}  {name}")
    for notice in result.pupils:
        held = f", {notice.held} held ({held_because(notice)})" if notice.held else ""
        whole = ", whole file" if notice.whole_file else ""
        click.echo(
            f"  pupil {notice.pupil_id} {notice.pupil_ref[:22]}…  from {notice.first_due}: "
            f"{notice.incidents} incidents, {notice.documents} documents{held}{whole}"
        )
    if result.by_change:
        click.echo("  Due only because of a waiting rule change (not in effect yet):")
    for notice in result.by_change:
        held = f", {notice.held} held ({held_because(notice)})" if notice.held else ""
        click.echo(
            f"  pupil {notice.pupil_id} {notice.pupil_ref[:22]}…  from {notice.first_due}: "
            f"{notice.incidents} incidents, {notice.documents} documents{held} "
            f"[waiting change {notice.change_id}, in effect from {notice.change_effective_on}]"
        )
    if result.unknown_dob:
        click.echo(f"  {len(result.unknown_dob)} pupils have no date of birth: nothing of theirs")
        click.echo("  is ever purged until it is recorded (pupil ids below).")
        for entry in result.unknown_dob:
            click.echo(f"    pupil {entry['pupil_id']}: {entry['records']} records")


@click.group()
def retention() -> None:
    """See what retention will destroy, and set the rules."""


@retention.command("forecast")
@click.option("--days", default=DEFAULT_DAYS, show_default=True, type=click.IntRange(0, 3660))
@click.option("--as-of", "as_of", type=_DATE, help="Start the window on this day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def forecast_command(obj: dict[str, Any], days: int, as_of: datetime | None, as_json: bool) -> None:
    """List what becomes due in the next N days, by pseudonymous pupil reference."""
    factory, school_id, instance = _ctx(obj)
    start = as_of.date() if as_of else london_today()
    with factory() as session:
        result = forecast(session, school_id, instance.instance_key, start, days)
    _print_forecast(result, as_json, f"Due from {start} to the purge of {result.until}:")


@retention.group("rules")
def rules_group() -> None:
    """Show or change the school's versioned retention rules."""


@rules_group.command("show")
@click.pass_obj
def rules_show(obj: dict[str, Any]) -> None:
    """Print the current rule set."""
    from exchange.retention.ruleset import current_rule_set

    factory, school_id, _ = _ctx(obj)
    with factory() as session:
        rules = current_rule_set(session, school_id)
    click.echo(json.dumps({"version": rules.version, **rules.to_json()}, indent=2))


@rules_group.command("set")
@click.argument("category_path")
@click.argument("rule")
@acting_user_id("The acting DPO or DSL (shortening: the DPO).")
@click.pass_obj
def rules_set(obj: dict[str, Any], category_path: str, rule: str, user_id: int | None) -> None:
    """Set CATEGORY_PATH's rule (e.g. SEN dob+31y); 'default' for the default, 'inherit' to drop.

    A longer rule is saved at once; a shorter one needs the DPO and waits the notice period.
    """
    from exchange.retention.cli_safety import change_rules
    from exchange.retention.ruleset import category_change

    change_rules(obj, category_change(category_path, rule), user_id)


@rules_group.command("sender-copy")
@click.argument("value")
@acting_user_id("The acting DPO or DSL (shortening: the DPO).")
@click.pass_obj
def rules_sender_copy(obj: dict[str, Any], value: str, user_id: int | None) -> None:
    """Keep the sender's copy after a verified receipt ('keep') or destroy it after N days."""
    from exchange.retention.cli_safety import change_rules
    from exchange.retention.ruleset import sender_copy_change

    change_rules(obj, sender_copy_change(value), user_id)


def _register_safety() -> None:
    from exchange.retention.cli_safety import register

    register(retention, rules_group)


_register_safety()


@retention.group("certificates")
def certificates_group() -> None:
    """List, verify and render disposal certificates."""


@certificates_group.command("list")
@click.pass_obj
def certificates_list(obj: dict[str, Any]) -> None:
    """List the school's disposal certificates."""
    from sqlalchemy import select

    from exchange.retention.models import DisposalCertificate

    factory, school_id, _ = _ctx(obj)
    with factory() as session:
        rows = session.scalars(
            select(DisposalCertificate)
            .where(DisposalCertificate.school_id == school_id)
            .order_by(DisposalCertificate.id)
        ).all()
    for row in rows:
        click.echo(
            f"{row.id:>5}  run {row.run_id:>5}  {row.issued_at:%Y-%m-%d %H:%M}Z  {row.key_id[:16]}…"
        )


@certificates_group.command("show")
@click.argument("certificate_id", type=int)
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--jws", "jws_path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def certificates_show(
    obj: dict[str, Any], certificate_id: int, pdf_path: Path | None, jws_path: Path | None
) -> None:
    """Verify a certificate with the school's keys, print it, and optionally write PDF/JWS."""
    from exchange.packaging.keys import all_public_keys, public_key_of
    from exchange.retention.certificate import verify_certificate
    from exchange.retention.certificate_pdf import render_certificate_pdf
    from exchange.retention.models import DisposalCertificate

    factory, school_id, _ = _ctx(obj)
    with factory() as session:
        row = session.get(DisposalCertificate, certificate_id)
        if row is None or row.school_id != school_id:
            raise NotFound(f"no certificate {certificate_id} at this school")
        keys = [public_key_of(key) for key in all_public_keys(session, school_id, "signing")]
    payload = verify_certificate(row.jws, keys)  # type: ignore[arg-type]
    click.echo(json.dumps(payload, indent=2))
    click.echo("signature: valid")
    if pdf_path:
        pdf_path.write_bytes(render_certificate_pdf(payload, row.jws))
    if jws_path:
        jws_path.write_text(row.jws + "\n")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Show what would be destroyed; change nothing.")
@click.option("--as-of", "as_of", type=_DATE, help="Dry run as of this day (implies --dry-run).")
@acting_user_id("The acting DPO or DSL (default: the system actor).")
@click.option(
    "--allow-large",
    is_flag=True,
    help="Go past the volume guard (the DPO, who has checked the due list).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def purge_command(
    obj: dict[str, Any],
    dry_run: bool,
    as_of: datetime | None,
    user_id: int | None,
    allow_large: bool,
    as_json: bool,
) -> None:
    """Destroy what is due today, not held and approved, with a signed certificate."""
    from exchange.retention.purge import preview, purge_school, rotate_wrapping_key

    factory, school_id, instance = _ctx(obj)
    if as_of is not None or dry_run:
        day = as_of.date() if as_of else london_today()
        with factory() as session:
            result = preview(session, school_id, instance.instance_key, day)
        _print_forecast(result, as_json, f"Dry run: a purge on {day} would destroy:")
        return
    actor = SYSTEM
    if user_id is not None:
        with factory() as session:
            actor = load_actor(session, school_id, user_id, PURGERS)
    guard: int | None = instance.config["PURGE_VOLUME_GUARD_PERCENT"]
    if allow_large:
        with factory() as session:
            actor = _actor(session, school_id, user_id, ROLES)
            reason = refusal(actor.role, "approve_disposal")
            if reason:
                raise RetentionForbidden(f"{reason}, so the volume guard stays on")
        guard = None
    outcome = purge_school(
        factory,
        instance.blobs,
        instance.instance_key,
        school_id,
        actor=actor,
        volume_guard_percent=guard,
        config=instance.config,
    )
    rotate_wrapping_key(factory, instance.instance_key)  # Backups lose the purged keys.
    if outcome.stopped is not None:
        stopped = outcome.stopped
        raise click.ClickException(
            f"The purge stopped before destroying anything: it would destroy "
            f"{stopped['would_destroy']} of the school's {stopped['records']} records, more "
            f"than {stopped['percent']}%. The DPO has been told. Check the due list; to go "
            "ahead, the DPO runs the purge with --user-id and --allow-large."
        )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "as_of": outcome.as_of.isoformat(),
                    "runs": outcome.run_ids,
                    "certificates": outcome.certificate_ids,
                    "totals": outcome.totals,
                }
            )
        )
        return
    click.echo(f"purge as of {outcome.as_of}: runs {outcome.run_ids}")
    for key, value in sorted(outcome.totals.items()):
        click.echo(f"  {key:<20} {value}")
    for certificate_id in outcome.certificate_ids:
        click.echo(
            f"  certificate {certificate_id}: exchange retention certificates show {certificate_id}"
        )


@click.group()
def holds() -> None:
    """Place, release and list legal holds (nothing held is ever purged)."""


@holds.command("add")
@click.option("--pupil", "pupil_id", type=int, help="Hold everything of this pupil id.")
@click.option("--incident", "incident_id", type=int, help="Hold this incident id.")
@click.option("--category", "category_path", help="Hold this category path and its subcategories.")
@click.option("--reason", required=True, help="Why (no names: e.g. 'IICSA moratorium').")
@acting_user_id("The acting DSL, deputy DSL or DPO (their current code is asked for).")
@click.pass_obj
def holds_add(
    obj: dict[str, Any],
    pupil_id: int | None,
    incident_id: int | None,
    category_path: str | None,
    reason: str,
    user_id: int | None,
) -> None:
    """Place a legal hold on one pupil, incident or category."""
    from exchange.retention.holds import place_hold

    targets = [
        (scope, value)
        for scope, value in (
            ("pupil", pupil_id),
            ("incident", incident_id),
            ("category", category_path),
        )
        if value is not None
    ]
    if len(targets) != 1:
        raise click.UsageError("give exactly one of --pupil, --incident or --category")
    scope, target = targets[0]
    factory, school_id, _ = _ctx(obj)
    with transaction(factory) as session:
        actor = _actor(session, school_id, user_id, ROLES)
        hold = place_hold(session, school_id, scope, target, reason, actor)
    click.echo(f"hold {hold.id} placed on {scope} {target}")


@holds.command("release")
@click.argument("hold_id", type=int)
@click.option("--reason", required=True, help="Why the hold ends.")
@acting_user_id("The acting DPO (their current code is asked for).")
@click.pass_obj
def holds_release(obj: dict[str, Any], hold_id: int, reason: str, user_id: int | None) -> None:
    """Release a hold (DPO only)."""
    from exchange.retention.holds import release_hold

    factory, school_id, _ = _ctx(obj)
    with transaction(factory) as session:
        actor = _actor(session, school_id, user_id, ROLES)
        release_hold(session, school_id, hold_id, reason, actor)
    click.echo(f"hold {hold_id} released")


@holds.command("list")
@click.option("--all", "include_released", is_flag=True, help="Include released holds.")
@click.pass_obj
def holds_list(obj: dict[str, Any], include_released: bool) -> None:
    """List holds: id, scope, target, placed by and when, released by and when."""
    from exchange.retention.holds import list_holds

    factory, school_id, _ = _ctx(obj)
    with factory() as session:
        rows = list_holds(session, school_id, include_released=include_released)
    if not rows:
        click.echo("no holds")
    for hold in rows:
        target = {"pupil": hold.pupil_id, "incident": hold.incident_id}.get(
            hold.scope, hold.category_path
        )
        released = (
            f"  released {hold.released_at:%Y-%m-%d} by user {hold.released_by_user_id}"
            if hold.released_at
            else ""
        )
        click.echo(
            f"{hold.id:>4}  {hold.scope:<8} {target!s:<30} placed {hold.placed_at:%Y-%m-%d} "
            f"by user {hold.placed_by_user_id}{released}"
        )
        click.echo(f"      reason: {hold.reason}")
