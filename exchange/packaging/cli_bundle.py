"""`exchange bundle`: verify and open a received bundle with files, not the database.

These commands read nothing from ctx.obj: the identity file and the sender's public keys
are given as files, so a bundle can be checked on any machine, years later. Exit status:
0 verified, 1 the bundle was refused (the message names the step), 2 usage (a missing or
unreadable key file, an --out that exists), 3 a failure of our own (a short message on
stderr and one log line; never a traceback).
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click

from exchange.errors import ExchangeError
from exchange.packaging.bundle import Bundle, Expectations, verify_bundle
from exchange.packaging.errors import InvalidBundle
from exchange.packaging.keys import EncryptionKey, SigningPublicKey
from exchange.packaging.manifest import Manifest
from exchange.vault.workdirs import sweep_claimed_work_dirs

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
_TERMINATED = 128 + signal.SIGTERM
log = logging.getLogger("exchange.bundle")

_existing = click.Path(exists=True, dir_okay=False, path_type=Path)


def _load(identity: Path, sender_public: tuple[Path, ...]) -> tuple[list, list]:
    try:
        identities = EncryptionKey.from_identity_file(identity.read_text(encoding="ascii"))
        senders = [SigningPublicKey.from_pem(path.read_bytes()) for path in sender_public]
    except (ExchangeError, UnicodeDecodeError, OSError) as exc:
        raise click.UsageError(f"cannot read a key file: {exc}") from exc
    return identities, senders


def _print_summary(manifest: Manifest) -> None:
    for key, value in manifest.summary().items():
        click.echo(f"{key:<17} {value}")


def _options(command: click.Command) -> click.Command:
    for option in reversed(
        [
            click.argument("bundle_file", type=_existing),
            click.option(
                "--identity", required=True, type=_existing, help="age identity file (ours)."
            ),
            click.option(
                "--sender-public",
                required=True,
                multiple=True,
                type=_existing,
                help="Sender's signing public key, PEM; repeat for older keys.",
            ),
            click.option("--recipient", help="Our school URN: refuse bundles for anyone else."),
            click.option("--sender", help="The sending school's URN, if known."),
        ]
    ):
        command = option(command)
    return command


@click.group("bundle")
def bundle() -> None:
    """Verify and open transfer bundles."""


def _terminate(_signum: int, _frame: FrameType | None) -> NoReturn:
    """Turn SIGTERM into SystemExit so every finally block (and folder removal) runs."""
    raise SystemExit(_TERMINATED)


@contextlib.contextmanager
def _on_sigterm_exit() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _checked(action: Callable[[], None], command: str) -> None:
    """Run a bundle command; map a refusal to exit 1 and a failure of ours to exit 3."""
    try:
        with _on_sigterm_exit():
            action()
    except InvalidBundle as exc:
        click.echo(f"bundle rejected: {exc}", err=True)
        raise click.exceptions.Exit(EXIT_REFUSED) from None
    except (click.exceptions.Exit, click.ClickException):
        raise
    except Exception as exc:  # Anything else is ours, not the bundle's: no traceback.
        first_line = (str(exc).splitlines() or [""])[0][:300]
        log.error("bundle %s failed: %s: %s", command, type(exc).__name__, first_line)
        click.echo(f"internal error: {first_line or type(exc).__name__}", err=True)
        raise click.exceptions.Exit(EXIT_INTERNAL) from None


def _anchor(out_dir: Path) -> Path:
    """Return the nearest folder of --out that exists (the work folder goes there)."""
    for candidate in out_dir.absolute().parents:
        if candidate.exists():
            if not candidate.is_dir():
                raise click.UsageError(f"{candidate} is not a folder")
            return candidate
    raise click.UsageError(f"no folder of {out_dir} exists")


@bundle.command("verify")
@_options
def verify(
    bundle_file: Path,
    identity: Path,
    sender_public: tuple[Path, ...],
    recipient: str | None,
    sender: str | None,
) -> None:
    """Run every verification step (nothing is written) and print the manifest summary."""
    identities, senders = _load(identity, sender_public)
    expect = Expectations(tuple(identities), tuple(senders), recipient, sender)

    def run() -> None:
        _print_summary(verify_bundle(bundle_file, expect))
        click.echo("verified: signature, recipient, version, every file's size and SHA-256, count")

    _checked(run, "verify")


@bundle.command("open")
@_options
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="New folder for the verified files (must not exist); made only once all is verified.",
)
def open_bundle(
    bundle_file: Path,
    identity: Path,
    sender_public: tuple[Path, ...],
    recipient: str | None,
    sender: str | None,
    out_dir: Path,
) -> None:
    """Verify a bundle and, only if every step passes, write its files to a new folder."""
    if out_dir.exists():
        raise click.UsageError(f"{out_dir} already exists: give a new folder")
    identities, senders = _load(identity, sender_public)
    anchor = _anchor(out_dir)

    def run() -> None:
        sweep_claimed_work_dirs()  # Folders of earlier opens that were killed.
        with Bundle.open(
            bundle_file,
            identities,
            senders,
            recipient,
            expected_sender=sender,
            work_dir=anchor,
            register=True,
        ) as opened:
            out_dir.parent.mkdir(parents=True, exist_ok=True)
            opened.extract_to(out_dir)
            _print_summary(opened.manifest)
        click.echo(f"wrote {opened.manifest.file_count} verified files to {out_dir}")

    _checked(run, "open")
