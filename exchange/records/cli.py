"""The `exchange records` commands: import an export, read a Common Transfer File."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from exchange.records.import_errors import ImportRejected
from exchange.records.importer import Progress, Tick, no_progress


@click.group()
def records() -> None:
    """Import a school's records and read Common Transfer Files."""


def terminal_progress(force: bool | None) -> Progress:
    """Return a progress reporter drawing bars on stderr, if it is a terminal or forced."""
    show = sys.stderr.isatty() if force is None else force
    if not show:
        return no_progress

    @contextmanager
    def bar(label: str, total: int, unit: str) -> Iterator[Tick]:
        scale = unit == "B"
        with tqdm(
            total=total,
            desc=label,
            unit=unit,
            unit_scale=scale,
            unit_divisor=1024 if scale else 1000,
            file=sys.stderr,
            leave=True,
            mininterval=0.2,
        ) as progress:
            yield progress.update

    return bar


def _refuse(exc: ImportRejected) -> None:
    for line in exc.lines():
        click.echo(line, err=True)
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@records.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show progress bars (default: only when stderr is a terminal).",
)
@click.pass_obj
def import_command(obj: dict[str, Any], path: Path, progress: bool | None) -> None:
    """Import an export (a folder or zip holding records.json and the vault files)."""
    from exchange.records.importer import import_records

    try:
        summary = import_records(
            obj["instance"], obj["school_id"], path, progress=terminal_progress(progress)
        )
    except ImportRejected as exc:
        _refuse(exc)
    click.echo(summary.line())


@records.command("import-ctf")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--leaving-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The pupils' leaving date (YYYY-MM-DD), if the file does not say.",
)
@click.pass_obj
def import_ctf_command(obj: dict[str, Any], file: Path, leaving_date: Any) -> None:
    """Match or create pupils from a DfE Common Transfer File and set their destination."""
    from exchange.records.ctf import import_ctf

    leaving: date | None = leaving_date.date() if leaving_date else None
    try:
        summary = import_ctf(obj["instance"], obj["school_id"], file, leaving_date=leaving)
    except ImportRejected as exc:
        _refuse(exc)
    click.echo(summary.line())
