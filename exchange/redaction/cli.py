"""Command line: `redact pdf` and `redact text`; the PDF pipeline is imported only to run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from exchange.errors import ExchangeError, ValidationError
from exchange.redaction.names import Person

if TYPE_CHECKING:
    from exchange.redaction.report import Report

EXIT_CLEAN = 0
EXIT_ERROR = 1
EXIT_REVIEW = 3


def people_from_options(names: tuple[str, ...], keep: tuple[str, ...]) -> list[Person]:
    """Turn --name and --keep values ("Forename Surname") into people."""
    people = []
    for index, full in enumerate(names, 1):
        people.append(_person(f"name-{index}", full, "extra"))
    for index, full in enumerate(keep, 1):
        people.append(_person(f"keep-{index}", full, "family"))
    return people


def _person(person_id: str, full: str, kind: str) -> Person:
    parts = full.split()
    if not parts:
        raise ValidationError("a --name value is empty")
    return Person(person_id, parts[0], " ".join(parts[1:]), kind=kind)  # type: ignore[arg-type]


def _write_report(path: str | None, report: Report) -> None:
    if path:
        Path(path).write_text(report.to_json() + "\n", encoding="utf-8")


def _exit_for(report: Report) -> int:
    return EXIT_REVIEW if report.status == "needs_review" else EXIT_CLEAN


@click.group("redact")
def redact() -> None:
    """Remove other children's names from PDFs and text."""


@redact.command("pdf")
@click.argument("source", type=click.Path(dir_okay=False))
@click.argument("destination", type=click.Path(dir_okay=False))
@click.option("--name", "names", multiple=True, required=True, help="A name to remove.")
@click.option("--keep", multiple=True, help="A name to keep (the subject or family).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Report JSON.")
def redact_pdf_command(
    source: str,
    destination: str,
    names: tuple[str, ...],
    keep: tuple[str, ...],
    report_path: str | None,
) -> None:
    """Write a redacted copy of SOURCE to DESTINATION; exit 3 if a person must review it."""
    from exchange.redaction.pipeline import RedactionBlocked, process_pdf

    try:
        people = people_from_options(names, keep)
        report = process_pdf(source, destination, people, document=Path(source).name)
    except RedactionBlocked as error:
        _write_report(report_path, error.report)
        click.echo(f"error: {error.message}; no output written", err=True)
        sys.exit(EXIT_ERROR)
    except ExchangeError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    _write_report(report_path, report)
    if report.status == "needs_review":
        click.echo(f"needs review: {len(report.flags)} flag(s), see the report", err=True)
    sys.exit(_exit_for(report))


@redact.command("text")
@click.option("--name", "names", multiple=True, required=True, help="A name to remove.")
@click.option("--keep", multiple=True, help="A name to keep (the subject or family).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Report JSON.")
def redact_text_command(
    names: tuple[str, ...], keep: tuple[str, ...], report_path: str | None
) -> None:
    """Redact standard input to standard output; exit 3 if a hit needs review."""
    from exchange.redaction.pipeline import RedactionBlocked, process_text

    try:
        people = people_from_options(names, keep)
        text = sys.stdin.read()
        result, report = process_text(text, people)
    except RedactionBlocked as error:
        _write_report(report_path, error.report)
        click.echo(f"error: {error.message}", err=True)
        sys.exit(EXIT_ERROR)
    except ExchangeError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(result.text, nl=False)
    _write_report(report_path, report)
    sys.exit(_exit_for(report))
