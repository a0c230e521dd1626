"""`exchange policy`: pick a preset tree, see what transfers, change a mapping."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from exchange.db import transaction
from exchange.instance import Instance
from exchange.migrate import upgrade
from exchange.policy.classes import INHERIT, NOT_TRANSFERRED, TRANSFER_CLASSES
from exchange.policy.presets import load_preset, preset_names
from exchange.policy.render import render_tree
from exchange.policy.service import (
    add_category,
    apply_preset,
    school_categories,
    set_transfer_class,
    transfer_class_of,
)
from exchange.records.models import School
from exchange.records.scoping import scope_session

CLASS_CHOICES = [*TRANSFER_CLASSES, NOT_TRANSFERRED, INHERIT]


def _ready(obj: dict[str, Any]) -> tuple[Instance, int]:
    """Bring the database up to date, then return the instance and the chosen school's id."""
    instance: Instance = obj["instance"]
    upgrade(
        instance.engine,
        instance_key=lambda: instance.instance_key,
        wrapping_key_dir=instance.wrapping_key_dir,
    )
    return instance, obj["school_id"]


@click.group()
def policy() -> None:
    """Choose the school's category tree and which categories transfer with a child."""


@policy.command("presets")
def presets_command() -> None:
    """List the category trees shipped as presets."""
    for name in preset_names():
        preset = load_preset(name)
        count = len(preset.paths())
        click.echo(f"{name:<14} {count:>3} categories  {preset.title}")


@policy.command("classes")
def classes_command() -> None:
    """List the transfer classes a category can map to."""
    for name, label in TRANSFER_CLASSES.items():
        click.echo(f"{name:<18} {label}")
    click.echo(f"{NOT_TRANSFERRED:<18} Not transferred")


@policy.command("apply")
@click.argument("preset_name", metavar="PRESET", type=click.Choice(preset_names()))
@click.option(
    "--reset", is_flag=True, help="Also restore the preset's mapping where it was changed."
)
@click.pass_obj
def apply_command(obj: dict[str, Any], preset_name: str, reset: bool) -> None:
    """Give the school a preset category tree (adds what is missing; keeps your changes)."""
    instance, school_id = _ready(obj)
    with transaction(instance.sessions) as session:
        scope_session(session, school_id)
        school = session.get(School, school_id)
        result = apply_preset(session, school, preset_name, reset=reset)
    click.echo(
        f"preset {result.preset} applied to {school.name}: {result.created} created, "
        f"{result.remapped} remapped, {result.unchanged} already present"
    )


@policy.command("show")
@click.pass_obj
def show_command(obj: dict[str, Any]) -> None:
    """Print the school's category tree with what transfers, and whether it is set or inherited.

    Without --school on an instance that hosts several schools, print every school's tree.
    """
    instance: Instance = obj["instance"]
    upgrade(
        instance.engine,
        instance_key=lambda: instance.instance_key,
        wrapping_key_dir=instance.wrapping_key_dir,
    )
    with instance.sessions() as session:
        if getattr(obj, "school_urn", None) is None:
            school_ids = session.scalars(select(School.id).order_by(School.urn)).all()
        else:
            school_ids = []
        if not school_ids:
            school_ids = [obj["school_id"]]  # Raises the usual "no school yet" message.
        for number, school_id in enumerate(school_ids):
            if number:
                click.echo("")
            scope_session(session, school_id)
            school = session.get(School, school_id)
            for line in render_tree(school, school_categories(session, school)):
                click.echo(line)


@policy.command("set")
@click.argument("path")
@click.argument("transfer_class", metavar="CLASS|none|inherit", type=click.Choice(CLASS_CHOICES))
@click.pass_obj
def set_command(obj: dict[str, Any], path: str, transfer_class: str) -> None:
    """Map the category at PATH ("Top" or "Top/Sub") to a class, to none, or to its parent's."""
    instance, school_id = _ready(obj)
    with transaction(instance.sessions) as session:
        scope_session(session, school_id)
        school = session.get(School, school_id)
        category = set_transfer_class(session, school, path, transfer_class)
        resolved = transfer_class_of(category)
    click.echo(f"{category.path}: {'transfers as ' + resolved if resolved else 'not transferred'}")


@policy.command("add")
@click.argument("name")
@click.option("--parent", "parent_path", help="Path of the top-level category to add it under.")
@click.option(
    "--class",
    "transfer_class",
    type=click.Choice(CLASS_CHOICES),
    help="What it transfers as (default: a subcategory follows its parent; a top-level stays).",
)
@click.pass_obj
def add_command(
    obj: dict[str, Any], name: str, parent_path: str | None, transfer_class: str | None
) -> None:
    """Add a category of the school's own to its tree."""
    instance, school_id = _ready(obj)
    with transaction(instance.sessions) as session:
        scope_session(session, school_id)
        school = session.get(School, school_id)
        category = add_category(
            session, school, name, parent=parent_path, transfer_class=transfer_class
        )
        resolved = transfer_class_of(category)
    click.echo(f"{category.path}: {'transfers as ' + resolved if resolved else 'not transferred'}")


@policy.command("incoming")
@click.option(
    "--set",
    "pairs",
    multiple=True,
    metavar="CLASS=PATH",
    help="File records received in this transfer class under the category at PATH.",
)
@click.option(
    "--default",
    "defaults",
    multiple=True,
    metavar="CLASS",
    type=click.Choice(list(TRANSFER_CLASSES)),
    help="Go back to the default for this class (the first category carrying it).",
)
@click.pass_obj
def incoming_command(
    obj: dict[str, Any], pairs: tuple[str, ...], defaults: tuple[str, ...]
) -> None:
    """Show or set where records received from other schools are filed, class by class."""
    from exchange.policy.incoming import mapping_table, set_mapping

    instance, school_id = _ready(obj)
    with transaction(instance.sessions) as session:
        scope_session(session, school_id)
        school = session.get(School, school_id)
        for pair in pairs:
            transfer_class, separator, path = pair.partition("=")
            if not separator or not path.strip():
                raise click.UsageError(f"--set takes CLASS=PATH, not {pair!r}")
            set_mapping(session, school, transfer_class.strip(), path.strip())
        for transfer_class in defaults:
            set_mapping(session, school, transfer_class, None)
        for transfer_class, path, chosen in mapping_table(session, school):
            where = path or 'none: filed under "Transferred in"'
            how = "set" if chosen else "default"
            click.echo(f"{transfer_class:<18} {where}  ({how})")
