"""`exchange keys`: generate, rotate, list and export a school's public keys.

The commands read three entries of ctx.obj (set up by the `exchange` root command):

- ``ctx.obj["session_factory"]``: a SQLAlchemy sessionmaker for the instance database;
- ``ctx.obj["school_id"]``: the integer id of the school the command acts for;
- ``ctx.obj["instance_key"]``: the 32-byte instance key that wraps private keys at rest.

Private keys are never printed, logged or exported by these commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from exchange.db import transaction
from exchange.packaging.keys import (
    EncryptionPublicKey,
    SigningPublicKey,
    all_public_keys,
    generate_keys,
    phone_fingerprint,
    public_key_of,
    rotate_keys,
)
from exchange.packaging.models import KIND_ENCRYPTION, KIND_SIGNING, KINDS, SchoolKey


def _describe(row: SchoolKey) -> str:
    state = "retired " + row.retired_at.strftime("%Y-%m-%d") if row.retired_at else "current"
    return (
        f"{row.kind:<10} {state:<18} created {row.created_at:%Y-%m-%d %H:%M}Z\n"
        f"    key id {row.key_id}\n    read out: {phone_fingerprint(row.key_id)}"
    )


@click.group("keys")
def keys() -> None:
    """Manage this school's signing and encryption keys."""


@keys.command("generate")
@click.pass_obj
def generate(obj: dict[str, Any]) -> None:
    """Create the school's first signing and encryption keys."""
    with transaction(obj["session_factory"]) as session:
        rows = generate_keys(session, obj["school_id"], obj["instance_key"])
        for row in rows:
            click.echo(_describe(row))


@keys.command("rotate")
@click.option(
    "--kind",
    type=click.Choice([*KINDS, "both"]),
    default="both",
    show_default=True,
    help="Which key to replace.",
)
@click.pass_obj
def rotate(obj: dict[str, Any], kind: str) -> None:
    """Retire the current keys and create new ones; old public keys are kept."""
    kinds = KINDS if kind == "both" else (kind,)
    with transaction(obj["session_factory"]) as session:
        rows = rotate_keys(session, obj["school_id"], obj["instance_key"], kinds)
        for row in rows:
            click.echo(_describe(row))
    click.echo("Tell your partner schools: they must confirm the new fingerprints by phone.")


@keys.command("list")
@click.pass_obj
def list_keys(obj: dict[str, Any]) -> None:
    """List every key of the school, current and retired, with its fingerprint."""
    with transaction(obj["session_factory"]) as session:
        rows = all_public_keys(session, obj["school_id"])
        if not rows:
            click.echo("No keys yet: run `exchange keys generate`.")
        for row in rows:
            click.echo(_describe(row))


@keys.command("export-public")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the public keys to.",
)
@click.pass_obj
def export_public(obj: dict[str, Any], out_dir: Path) -> None:
    """Write the public keys: signing as PEM, encryption as an age recipient string."""
    out_dir.mkdir(parents=True, exist_ok=True)
    listing = []
    with transaction(obj["session_factory"]) as session:
        rows = all_public_keys(session, obj["school_id"])
    if not rows:
        raise click.ClickException("no keys yet: run `exchange keys generate`")
    for row in rows:
        public = public_key_of(row)
        short = row.key_id[:16]
        if isinstance(public, SigningPublicKey):
            text = public.to_pem().decode("ascii")
            name = f"signing-{short}.pem"
        else:
            assert isinstance(public, EncryptionPublicKey)
            text = public.recipient + "\n"
            name = f"encryption-{short}.age-recipient"
        (out_dir / name).write_text(text, encoding="ascii")
        if row.retired_at is None:
            current = "signing.pem" if row.kind == KIND_SIGNING else "encryption.age-recipient"
            (out_dir / current).write_text(text, encoding="ascii")
        listing.append(
            {
                "kind": row.kind,
                "key_id": row.key_id,
                "file": name,
                "created_at": row.created_at.isoformat(),
                "retired_at": row.retired_at.isoformat() if row.retired_at else None,
            }
        )
    (out_dir / "keys.json").write_text(json.dumps(listing, indent=2) + "\n", encoding="ascii")
    current_kinds = {row.kind for row in rows if row.retired_at is None}
    click.echo(f"Wrote {len(rows)} public keys to {out_dir}.")
    for kind in (KIND_SIGNING, KIND_ENCRYPTION):
        if kind not in current_kinds:
            click.echo(f"Warning: there is no current {kind} key.", err=True)


def _register_wrapping() -> None:
    from exchange.vault.cli_wrapping import register

    register(keys)


_register_wrapping()
