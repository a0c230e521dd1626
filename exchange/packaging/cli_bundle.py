"""`exchange bundle`: verify and open a received bundle with files, not the database.

These commands read nothing from ctx.obj: the identity file and the sender's public keys
are given as files, so a bundle can be checked on any machine, years later.
"""

from __future__ import annotations

from pathlib import Path

import click

from exchange.errors import ExchangeError
from exchange.packaging.bundle import Bundle, Expectations, verify_bundle
from exchange.packaging.keys import EncryptionKey, SigningPublicKey
from exchange.packaging.manifest import Manifest

_existing = click.Path(exists=True, dir_okay=False, path_type=Path)


def _load(identity: Path, sender_public: tuple[Path, ...]) -> tuple[list, list]:
    try:
        identities = EncryptionKey.from_identity_file(identity.read_text(encoding="ascii"))
        senders = [SigningPublicKey.from_pem(path.read_bytes()) for path in sender_public]
    except (ExchangeError, UnicodeDecodeError) as exc:
        raise click.ClickException(str(exc)) from exc
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
    try:
        manifest = verify_bundle(bundle_file, expect)
    except ExchangeError as exc:
        raise click.ClickException(f"bundle rejected: {exc}") from exc
    _print_summary(manifest)
    click.echo("verified: signature, recipient, version, every file's size and SHA-256, count")


@bundle.command("open")
@_options
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="New folder for the verified files (must not exist).",
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
        raise click.ClickException(f"{out_dir} already exists: give a new folder")
    identities, senders = _load(identity, sender_public)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        opened = Bundle.open(
            bundle_file,
            identities,
            senders,
            recipient,
            expected_sender=sender,
            work_dir=out_dir.parent,
        )
    except ExchangeError as exc:
        raise click.ClickException(f"bundle rejected: {exc}") from exc
    with opened:
        opened.extract_to(out_dir)
        _print_summary(opened.manifest)
    click.echo(f"wrote {opened.manifest.file_count} verified files to {out_dir}")
