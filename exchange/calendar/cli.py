"""`exchange calendar`: the school's term dates, INSET days and bank holidays."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from exchange.calendar import store
from exchange.calendar.bank_holidays import REGIONS, bank_holidays
from exchange.calendar.importer import read_file
from exchange.calendar.terms import academic_year
from exchange.db import transaction
from exchange.records.models import School

DAY = click.DateTime(formats=["%Y-%m-%d"])


def _change(obj: dict[str, Any], change: Any) -> None:
    with transaction(obj["session_factory"]) as session:
        change(session.get(School, obj["school_id"]))


@click.group()
def calendar() -> None:
    """Set the school's term dates and INSET days: the 5-school-day clock counts them."""


@calendar.command("show")
@click.option("--year", type=int, help="Academic year starting in September of YEAR.")
@click.pass_obj
def show(obj: dict[str, Any], year: int | None) -> None:
    """Show the terms, closures, INSET days and bank holidays the clock counts."""
    with obj["session_factory"]() as session:
        calendar_ = store.load(session.get(School, obj["school_id"]))
    year = year if year is not None else academic_year(date.today())
    source = (
        "estimated (enter or import your dates)"
        if year not in calendar_.entered_years
        else "entered"
    )
    click.echo(
        f"Academic year {year}-{(year + 1) % 100:02d}: {source}; "
        f"bank holidays of {calendar_.region}"
    )
    for term in calendar_.terms_of(year):
        click.echo(f"  term     {term.start} to {term.end}  {term.name}")
    for closure in calendar_.closures:
        if academic_year(closure.start) == year:
            click.echo(f"  closed   {closure.start} to {closure.end}  {closure.name}")
    for day in sorted(calendar_.inset_days):
        if academic_year(day) == year:
            click.echo(f"  INSET    {day}")
    first, last = date(year, 8, 1), date(year + 1, 7, 31)
    for day in sorted(
        bank_holidays(calendar_.region, year) | bank_holidays(calendar_.region, year + 1)
    ):
        if first <= day <= last:
            click.echo(f"  bank     {day}")


@calendar.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def import_command(obj: dict[str, Any], path: Path) -> None:
    """Import term dates from an iCalendar (.ics) or CSV file, as local authorities publish."""
    data = read_file(path.name, path.read_bytes())
    _change(obj, lambda school: store.merge(school, data))
    click.echo(
        f"imported {len(data.terms)} terms, {len(data.closures)} holidays and "
        f"{len(data.inset_days)} INSET days"
    )


@calendar.command("add-term")
@click.argument("start", type=DAY)
@click.argument("end", type=DAY)
@click.option("--name", default="", help='For example "spring term".')
@click.pass_obj
def add_term(obj: dict[str, Any], start: Any, end: Any, name: str) -> None:
    """Add a term (or half term) from its first to its last day, e.g. 2026-09-03 2026-10-23."""
    _change(obj, lambda school: store.add_term(school, start.date(), end.date(), name))
    click.echo(f"term {start.date()} to {end.date()} added")


@calendar.command("add-closure")
@click.argument("start", type=DAY)
@click.argument("end", type=DAY)
@click.option("--name", default="holiday")
@click.pass_obj
def add_closure(obj: dict[str, Any], start: Any, end: Any, name: str) -> None:
    """Add a holiday inside a term (a half-term week, a day closed for an election)."""
    _change(obj, lambda school: store.add_closure(school, start.date(), end.date(), name))
    click.echo(f"closed {start.date()} to {end.date()}")


@calendar.command("add-inset")
@click.argument("days", type=DAY, nargs=-1, required=True)
@click.pass_obj
def add_inset(obj: dict[str, Any], days: tuple[Any, ...]) -> None:
    """Add INSET (staff training) days: pupils are not taught, the clock does not count them."""

    def add(school: School) -> None:
        for day in days:
            store.add_inset_day(school, day.date())

    _change(obj, add)
    click.echo(f"{len(days)} INSET day(s) added")


@calendar.command("region")
@click.argument("region", type=click.Choice(sorted(REGIONS)))
@click.pass_obj
def region(obj: dict[str, Any], region: str) -> None:
    """Choose whose bank holidays the school keeps: England's or Wales's."""
    _change(obj, lambda school: store.set_region(school, region))
    click.echo(f"bank holidays of {region}")


@calendar.command("clear")
@click.pass_obj
def clear(obj: dict[str, Any]) -> None:
    """Forget the entered dates: the usual pattern of terms is estimated again."""
    _change(obj, store.clear)
    click.echo("calendar cleared")
