"""`exchange keys wrapping|rewrap|rewrap-from`: the wrapping-key epochs (operator commands).

Operator-only, like the other key commands: they need the instance key and its key
directory, not a person's second factor. Audited as the operator in each school's log, with
counts only (keys.wrapping_rotated, keys.rewrapped_from_later).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select

from exchange.records.models import PupilDataKey


def _epochs(obj: dict[str, Any]) -> tuple[Any, Path]:
    from exchange.vault.epochs import EpochKeys

    instance = obj["instance"]
    directory = instance.wrapping_key_dir
    return EpochKeys(directory, instance.instance_key), directory


def register(keys: click.Group) -> None:
    """Add the wrapping-key commands to `exchange keys`."""

    @keys.command("wrapping")
    @click.pass_obj
    def wrapping(obj: dict[str, Any]) -> None:
        """Show the wrapping-key epochs and how many pupil keys each wraps."""
        from exchange.vault.rotation import pending_markers

        epochs, directory = _epochs(obj)
        table = PupilDataKey.__table__
        with obj["instance"].sessions() as session:
            counts = session.execute(
                select(table.c.wrapping_epoch, func.count())
                .where(table.c.wrapped_key.is_not(None))
                .group_by(table.c.wrapping_epoch)
            ).all()
        click.echo(f"key directory: {directory}")
        click.echo(f"epochs on disk: {epochs.epochs() or 'none yet'}")
        for epoch, count in sorted(counts, key=lambda row: row[0] or 0):
            where = "instance key (before epochs)" if epoch is None else f"epoch {epoch}"
            click.echo(f"  {count} pupil keys under {where}")
        if pending_markers(directory):
            click.echo("a rotation is owed: run `exchange keys rewrap` (or the next purge does)")

    @keys.command("rewrap")
    @click.pass_obj
    def rewrap(obj: dict[str, Any]) -> None:
        """Rewrap every pupil key under a new epoch and destroy the older epochs."""
        from exchange.vault.rotation import rotate

        instance = obj["instance"]
        done = rotate(
            instance.sessions, instance.instance_key, instance.wrapping_key_dir, "operator"
        )
        click.echo(
            f"epoch {done.epoch}: {done.rewrapped} pupil keys rewrapped; "
            f"epochs destroyed: {done.destroyed or 'none'}"
        )

    @keys.command("rewrap-from")
    @click.argument("later_database")
    @click.option(
        "--clear-all",
        is_flag=True,
        help="Clear every stale key even if the later database re-attaches none of them "
        "(only when every one of those children was purged since the backup).",
    )
    @click.pass_obj
    def rewrap_from_command(obj: dict[str, Any], later_database: str, clear_all: bool) -> None:
        """After restoring a backup: re-attach survivors' keys from a later database.

        LATER_DATABASE is a database URL, or the path of a SQLite file, holding the
        pupil_data_keys table of a database newer than the restored backup (the live one
        before the restore, or a later backup). Pupils purged since the backup stay unreadable.
        A database of another service, or one that re-attaches none of the stale keys, is
        refused and nothing changes.
        """
        from exchange.vault.rotation import rewrap_from

        instance = obj["instance"]
        url = later_database if "://" in later_database else f"sqlite:///{later_database}"
        if "://" not in later_database and not Path(later_database).is_file():
            raise click.BadParameter(f"no file {later_database}", param_hint="LATER_DATABASE")
        done = rewrap_from(
            instance.sessions,
            instance.instance_key,
            instance.wrapping_key_dir,
            url,
            clear_all=clear_all,
        )
        click.echo(
            f"{done.reattached} pupil keys re-attached, {done.destroyed} cleared (purged "
            f"since the backup, or not in the later database), {done.already} readable already"
        )
