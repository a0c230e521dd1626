"""Command line: `redact pdf` and `redact text`; the PDF pipeline is imported only to run.

Exit status: 0 only when the output is clean; 3 when it is written but something needs a
person (the reasons are listed on stderr and in the report); 1 for any error, damaged or
truncated input included, with no output file left behind (not even one from an earlier run).
"""

from __future__ import annotations

import csv
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
# Roles in a --names-file: who is removed and who is kept.
FILE_ROLES = {"remove": "extra", "pupil": "extra", "keep": "family", "family": "family",
              "staff": "staff", "subject": "family"}  # fmt: skip


def people_from_options(
    names: tuple[str, ...],
    keep: tuple[str, ...],
    nicknames: tuple[str, ...] = (),
    names_file: str | None = None,
) -> list[Person]:
    """Turn --name, --keep, --nickname and --names-file values into people."""
    entries: list[tuple[str, str, list[str]]] = [(full, "extra", []) for full in names]
    entries += [(full, "family", []) for full in keep]
    if names_file:
        entries += _read_names_file(names_file)
    known = {_key(full): nicks for full, kind, nicks in entries if kind == "extra"}
    for value in nicknames:
        full, separator, nick = value.partition("=")
        if not separator or not nick.strip():
            raise ValidationError('a --nickname is "Full Name=Nickname"', where=value)
        if _key(full) not in known:
            raise ValidationError("a --nickname must name a --name person", where=full.strip())
        known[_key(full)].extend(n.strip() for n in nick.split(",") if n.strip())
    people = []
    for index, (full, kind, nicks) in enumerate(entries, 1):
        people.append(_person(f"{'name' if kind == 'extra' else kind}-{index}", full, kind, nicks))
    return people


def _key(full: str) -> str:
    return " ".join(full.split()).casefold()


def _read_names_file(path: str) -> list[tuple[str, str, list[str]]]:
    """Read "name[,role[,known as;...]]" lines; role is remove (default), keep or staff."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationError(f"the names file cannot be read: {error}") from error
    entries: list[tuple[str, str, list[str]]] = []
    for number, row in enumerate(csv.reader(lines), 1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        if number == 1 and row[0].strip().casefold() == "name":
            continue  # A header line.
        role = row[1].strip().casefold() if len(row) > 1 and row[1].strip() else "remove"
        if role not in FILE_ROLES:
            raise ValidationError(
                f"names file line {number}: role must be one of {', '.join(FILE_ROLES)}"
            )
        nicks = [n.strip() for n in row[2].split(";") if n.strip()] if len(row) > 2 else []
        entries.append((row[0], FILE_ROLES[role], nicks))
    return entries


def _person(person_id: str, full: str, kind: str, nicknames: list[str]) -> Person:
    parts = full.split()
    if not parts:
        raise ValidationError("a name is empty")
    return Person(
        person_id,
        parts[0],
        " ".join(parts[1:]),
        nicknames=tuple(nicknames),
        kind=kind,  # type: ignore[arg-type]
    )


def _write_report(path: str | None, report: Report) -> None:
    if path:
        Path(path).write_text(report.to_json() + "\n", encoding="utf-8")


def _reasons(report: Report) -> None:
    """List on stderr why a person must look: flags and check hits, never names."""
    for flag in report.flags:
        page = f"page {flag.page}" if flag.page else "document"
        click.echo(
            f"  {page}: {flag.reason}" + (f" ({flag.detail})" if flag.detail else ""), err=True
        )
    for hit in report.check.hits if report.check is not None else []:
        page = f"page {hit.page}" if hit.page else "document"
        click.echo(f"  {page}: a name of {hit.person_id} found by {hit.source}", err=True)
    pending = [d for d in report.decisions if d.get("decision") == "needs_review"]
    for decision in pending:
        click.echo(f"  text {decision['key']}: {', '.join(decision['reasons'])}", err=True)


def _fail(message: str, destination: str | None = None) -> None:
    """Report an error, remove any output (a stale one included) and exit 1."""
    if destination:
        Path(destination).unlink(missing_ok=True)
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _finish(report: Report) -> None:
    if report.status == "clean":
        sys.exit(EXIT_CLEAN)
    click.echo(f"needs review: {report.status}, see the report", err=True)
    _reasons(report)
    sys.exit(EXIT_REVIEW)


_NAME_HELP = "An other child's name to remove (repeat)."
_KEEP_HELP = "An adult, the subject or family to keep, e.g. a parent sharing a surname (repeat)."
_NICK_HELP = 'A known-as name: "Full Name=Nick[,Nick]" for a --name person (repeat).'
_FILE_HELP = "A CSV of name[,role[,known as;...]]; role: remove (default), keep, staff."


@click.group("redact")
def redact() -> None:
    """Remove other children's names from PDFs and text."""


@redact.command("pdf")
@click.argument("source", type=click.Path(dir_okay=False))
@click.argument("destination", type=click.Path(dir_okay=False))
@click.option("--name", "names", multiple=True, help=_NAME_HELP)
@click.option("--keep", multiple=True, help=_KEEP_HELP)
@click.option("--nickname", "nicknames", multiple=True, help=_NICK_HELP)
@click.option("--names-file", type=click.Path(dir_okay=False), help=_FILE_HELP)
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Report JSON.")
def redact_pdf_command(
    source: str,
    destination: str,
    names: tuple[str, ...],
    keep: tuple[str, ...],
    nicknames: tuple[str, ...],
    names_file: str | None,
    report_path: str | None,
) -> None:
    """Write a redacted copy of SOURCE to DESTINATION; exit 3 if a person must review it."""
    from exchange.redaction.pipeline import RedactionBlocked, process_pdf

    Path(destination).unlink(missing_ok=True)  # Never leave an earlier run's output behind.
    try:
        people = people_from_options(names, keep, nicknames, names_file)
        _need_names(people)
        report = process_pdf(source, destination, people, document=Path(source).name)
    except RedactionBlocked as error:
        _write_report(report_path, error.report)
        _reasons(error.report)
        _fail(f"{error.message}; no output written", destination)
    except ExchangeError as error:
        _fail(str(error), destination)
    except OSError as error:
        _fail(f"{error.strerror or error}", destination)
    _write_report(report_path, report)
    _finish(report)


@redact.command("text")
@click.option("--name", "names", multiple=True, help=_NAME_HELP)
@click.option("--keep", multiple=True, help=_KEEP_HELP)
@click.option("--nickname", "nicknames", multiple=True, help=_NICK_HELP)
@click.option("--names-file", type=click.Path(dir_okay=False), help=_FILE_HELP)
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Report JSON.")
def redact_text_command(
    names: tuple[str, ...],
    keep: tuple[str, ...],
    nicknames: tuple[str, ...],
    names_file: str | None,
    report_path: str | None,
) -> None:
    """Redact standard input to standard output; exit 3 if a hit needs review."""
    from exchange.redaction.pipeline import RedactionBlocked, process_text

    try:
        people = people_from_options(names, keep, nicknames, names_file)
        _need_names(people)
        text = sys.stdin.read()
        result, report = process_text(text, people)
    except RedactionBlocked as error:
        _write_report(report_path, error.report)
        _reasons(error.report)
        _fail(error.message)
    except ExchangeError as error:
        _fail(str(error))
    click.echo(result.text, nl=False)
    _write_report(report_path, report)
    _finish(report)


def _need_names(people: list[Person]) -> None:
    if not any(p.kind == "extra" for p in people):
        raise ValidationError("give at least one name to remove (--name or --names-file)")
