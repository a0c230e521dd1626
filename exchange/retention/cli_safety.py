"""`exchange retention review|settings` and `rules pending|cancel`: the DPO's safety steps.

Every step taken as a person (--user-id) first checks that person's current authenticator
code (exchange.cli_second_factor): that is the fresh second factor a shortening, an approval
or a change of the retention settings needs.
"""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy.orm import Session

from exchange.auth.permissions import ROLES
from exchange.cli_second_factor import second_factor_confirmed
from exchange.cli_support import acting_user_id
from exchange.db import transaction
from exchange.records.models import School
from exchange.retention.actors import Actor, load_actor
from exchange.retention.forecast import DEFAULT_DAYS, held_because
from exchange.retention.rules import london_today


def acting(obj: dict[str, Any], session: Session, user_id: int | None) -> Actor:
    """Return the acting user of the school named by --user-id."""
    if user_id is None:
        raise click.UsageError("name the acting user with --user-id")
    return load_actor(session, obj["school_id"], user_id, ROLES)


def change_rules(obj: dict[str, Any], change: dict[str, object], user_id: int | None) -> None:
    """Save a rule change at once, or schedule a shortening and email its notice."""
    from exchange.retention.changes import request_change
    from exchange.retention.notify import send_change_notices

    factory, school_id, instance = obj["session_factory"], obj["school_id"], obj["instance"]
    with transaction(factory) as session:
        actor = acting(obj, session, user_id)
        outcome = request_change(
            session,
            school_id,
            change,
            actor,
            fresh_second_factor=second_factor_confirmed(user_id),
            today=london_today(),
            notice_days=instance.config["RETENTION_NOTICE_DAYS"],
        )
        if outcome.pending is not None:
            pending = outcome.pending
            message = (
                f"This change makes records due earlier, so it waits: change {pending.id} "
                f"takes effect on {pending.effective_on} unless cancelled.\n"
                f"Becoming due then: {json.dumps(pending.notice)}"
            )
        else:
            assert outcome.saved is not None
            message = f"rule set version {outcome.saved.version} saved; record dates recomputed"
    click.echo(message)
    if outcome.pending is not None:
        sent = send_change_notices(factory, instance.config)
        click.echo("every DSL and DPO was emailed" if sent else "no email sent (no mail server)")


def pending_command(obj: dict[str, Any]) -> None:
    """Print the changes waiting out their notice period."""
    from exchange.retention.changes import pending_changes

    with obj["session_factory"]() as session:
        rows = pending_changes(session, obj["school_id"])
        if not rows:
            click.echo("no changes waiting")
        for row in rows:
            click.echo(
                f"{row.id:>4}  takes effect {row.effective_on}  {json.dumps(row.change)}  "
                f"becoming due: {json.dumps(row.notice)}"
            )


def cancel_command(obj: dict[str, Any], change_id: int, user_id: int | None) -> None:
    """Cancel a waiting change."""
    from exchange.retention.changes import cancel_change

    with transaction(obj["session_factory"]) as session:
        cancel_change(session, obj["school_id"], change_id, acting(obj, session, user_id))
    click.echo(f"change {change_id} cancelled")


@click.group("review")
def review_group() -> None:
    """Review the due list: approve each pupil's destruction, or hold it instead."""


@review_group.command("list")
@click.option("--days", default=DEFAULT_DAYS, show_default=True, type=click.IntRange(0, 3660))
@click.pass_obj
def review_list(obj: dict[str, Any], days: int) -> None:
    """List pupils with records due in the window, and the review decision on each."""
    from exchange.retention.review import due_list
    from exchange.retention.settings import automatic_disposal

    factory, school_id = obj["session_factory"], obj["school_id"]
    with factory() as session:
        result, reviews = due_list(
            session, school_id, obj["instance"].instance_key, london_today(), days
        )
        if automatic_disposal(session, school_id):
            click.echo("This school disposes automatically: no review is needed.")
    if not result.pupils:
        click.echo(f"nothing is due up to the purge of {result.until}")
    for notice in result.pupils:
        review = reviews.get(notice.pupil_id)
        state = "not reviewed" if review is None else f"{review.decision} (review {review.id})"
        click.echo(
            f"pupil {notice.pupil_id} {notice.pupil_ref[:22]}…  from {notice.first_due}: "
            f"{notice.incidents} incidents, {notice.documents} documents, {notice.held} held"
            f"{f' ({held_because(notice)})' if notice.held else ''}: "
            f"{state}"
        )


def _decide(
    obj: dict[str, Any],
    pupil_id: int,
    decision: str,
    user_id: int | None,
    days: int,
    reason: str = "",
) -> int:
    from exchange.retention.review import decide

    factory, school_id = obj["session_factory"], obj["school_id"]
    with transaction(factory) as session:
        actor = acting(obj, session, user_id)
        row = decide(
            session,
            school_id,
            obj["instance"].instance_key,
            pupil_id,
            decision,
            actor,
            today=london_today(),
            days=days,
            reason=reason,
        )
        return row.id


@review_group.command("approve")
@click.argument("pupil_id", type=int)
@click.option("--days", default=DEFAULT_DAYS, show_default=True, type=click.IntRange(0, 3660))
@acting_user_id("The acting DPO.")
@click.pass_obj
def review_approve(obj: dict[str, Any], pupil_id: int, days: int, user_id: int | None) -> None:
    """Approve the destruction of one pupil's records due in the window."""
    review_id = _decide(obj, pupil_id, "destroy", user_id, days)
    click.echo(f"review {review_id}: pupil {pupil_id}'s due records approved for destruction")


@review_group.command("hold")
@click.argument("pupil_id", type=int)
@click.option("--reason", required=True, help="Why (no names).")
@acting_user_id("The acting DPO.")
@click.pass_obj
def review_hold(obj: dict[str, Any], pupil_id: int, reason: str, user_id: int | None) -> None:
    """Place a legal hold on one pupil instead of approving the destruction."""
    review_id = _decide(obj, pupil_id, "hold", user_id, DEFAULT_DAYS, reason)
    click.echo(f"review {review_id}: pupil {pupil_id} held instead")


@click.group("settings")
def settings_group() -> None:
    """Show or change the school's retention settings (floors, SEN categories, disposal)."""


@settings_group.command("show")
@click.pass_obj
def settings_show(obj: dict[str, Any]) -> None:
    """Print the school's retention settings."""
    from exchange.retention.settings import retention_settings

    with obj["session_factory"]() as session:
        school = session.get(School, obj["school_id"])
        click.echo(json.dumps(retention_settings(school), indent=2))


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@acting_user_id("The acting DPO.")
@click.pass_obj
def settings_set(obj: dict[str, Any], key: str, value: str, user_id: int | None) -> None:
    """Set a retention setting: automatic_disposal on|off, a floor in years, sen_categories.

    Raising a floor or adding an SEN category takes effect at once; lowering a floor or
    removing an SEN category makes records due earlier, so it waits out the notice period.
    """
    from exchange.retention.disposal import change_setting, parse_value
    from exchange.retention.notify import send_change_notices

    factory, instance = obj["session_factory"], obj["instance"]
    with transaction(factory) as session:
        actor = acting(obj, session, user_id)
        fresh = second_factor_confirmed(user_id)
        outcome = change_setting(
            session,
            obj["school_id"],
            key,
            parse_value(key, value),
            actor,
            fresh,
            today=london_today(),
            notice_days=instance.config["RETENTION_NOTICE_DAYS"],
        )
        pending = None if outcome is None else outcome.pending
        if pending is not None:
            message = (
                f"This change makes records due earlier, so it waits: change {pending.id} "
                f"takes effect on {pending.effective_on} unless cancelled.\n"
                f"Becoming due then: {json.dumps(pending.notice)}"
            )
        else:
            message = f"{key} set" + ("" if outcome is None else "; record dates recomputed")
    click.echo(message)
    if pending is not None:
        sent = send_change_notices(factory, instance.config)
        click.echo("every DSL and DPO was emailed" if sent else "no email sent (no mail server)")


def register(retention: click.Group, rules: click.Group) -> None:
    """Add the safety commands to `exchange retention` and `exchange retention rules`."""
    retention.add_command(review_group)
    retention.add_command(settings_group)

    @rules.command("pending")
    @click.pass_obj
    def rules_pending(obj: dict[str, Any]) -> None:
        """List rule changes waiting out their notice period."""
        pending_command(obj)

    @rules.command("cancel")
    @click.argument("change_id", type=int)
    @acting_user_id("The acting DPO.")
    @click.pass_obj
    def rules_cancel(obj: dict[str, Any], change_id: int, user_id: int | None) -> None:
        """Cancel a rule change that is still waiting (the DPO)."""
        cancel_command(obj, change_id, user_id)
