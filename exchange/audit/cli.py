"""`exchange audit`: verify the log, make a checkpoint, print and check proofs.

The commands take what they need from click's ctx.obj (a mapping the main CLI fills):

    ctx.obj["session_factory"]  sqlalchemy sessionmaker bound to the instance database
    ctx.obj["school_id"]        int, the school whose log is acted on
    ctx.obj["signing_key"]      the school's current Ed25519 signing key: an
                                Ed25519PrivateKey, or exchange.packaging.keys.SigningKey
                                (anything with private_raw()); only `audit checkpoint`
    ctx.obj["public_keys"]      every signing key the school has used, current and retired:
                                Mapping[key id, key] or an iterable of keys, each an
                                Ed25519PublicKey or a SigningPublicKey (anything with a
                                32-byte `.raw`); `audit verify`, and `audit check` when
                                no --public-key is given

A key that is missing, or that raises KeyError when asked for, becomes a usage error naming
the key. Only the keys a command uses are looked up.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy.orm import Session

from exchange.audit import service
from exchange.audit.checkpoint import PublicKeys, key_id
from exchange.audit.errors import ProofError
from exchange.audit.proofs import ConsistencyProof, InclusionProof
from exchange.db import transaction
from exchange.errors import ExchangeError, ValidationError
from exchange.safe_json import loads_bounded

SESSION_FACTORY = "session_factory"
SCHOOL_ID = "school_id"
SIGNING_KEY = "signing_key"
PUBLIC_KEYS = "public_keys"


@dataclass(frozen=True)
class AuditContext:
    """Lazy access to what the audit commands need from ctx.obj."""

    obj: Any

    def get(self, name: str) -> Any:
        """Return ctx.obj[name], or raise a usage error naming the missing key."""
        try:
            return self.obj[name]
        except (KeyError, TypeError) as exc:
            raise click.UsageError(
                f"the audit commands need ctx.obj[{name!r}], which is not set"
            ) from exc

    @property
    def session_factory(self) -> Callable[[], Session]:
        """Return the session factory."""
        return self.get(SESSION_FACTORY)

    @property
    def school_id(self) -> int:
        """Return the school id."""
        return int(self.get(SCHOOL_ID))

    @property
    def signing_key(self) -> Any:
        """Return the school's Ed25519 private signing key."""
        return self.get(SIGNING_KEY)

    @property
    def public_keys(self) -> PublicKeys:
        """Return the school's public signing keys, current and retired."""
        return self.get(PUBLIC_KEYS)


def context_from_click() -> AuditContext:
    """Return the audit context from the current click context's obj."""
    return AuditContext(click.get_current_context().obj)


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))


class AuditGroup(click.Group):
    """A group that reports the service's own errors as one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, turning ExchangeError into a message."""
        try:
            return super().invoke(ctx)
        except ExchangeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group("audit", cls=AuditGroup)
def audit() -> None:
    """Verify the school's tamper-evident audit log, sign checkpoints and print proofs."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(as_json: bool) -> None:
    """Recompute the log, check every checkpoint, and say where anything was changed."""
    context = context_from_click()
    with transaction(context.session_factory) as session:
        report = service.verify_log(session, context.school_id, context.public_keys)
    if as_json:
        _echo_json(
            {
                "ok": report.ok,
                "log": report.log,
                "entries": report.entries,
                "head_size": report.head_size,
                "root": report.root.hex(),
                "checkpoints": report.checkpoints,
                "checkpoints_valid": report.checkpoints_valid,
                "first_bad_seq": report.first_bad_seq,
                "findings": [
                    {"seq": f.seq, "checkpoint": f.checkpoint_id, "message": f.message}
                    for f in report.findings
                ],
            }
        )
    else:
        for line in report.lines():
            click.echo(line)
    if not report.ok:
        sys.exit(1)


@audit.command("checkpoint")
def checkpoint_command() -> None:
    """Sign a checkpoint of the log's current size and root, and print the JWS."""
    context = context_from_click()
    with transaction(context.session_factory) as session:
        row = service.make_checkpoint(session, context.school_id, context.signing_key)
        token, size, root = row.jws, row.size, row.root
    click.echo(f"checkpoint of size {size}, root {root.hex()}", err=True)
    click.echo(token)


@audit.command("prove")
@click.argument("entry_seq", type=click.IntRange(min=0))
@click.option(
    "--size", type=click.IntRange(min=1), help="Tree size (default: the latest checkpoint)."
)
def prove_command(entry_seq: int, size: int | None) -> None:
    """Print an inclusion proof of entry ENTRY_SEQ that a third party can check."""
    context = context_from_click()
    with transaction(context.session_factory) as session:
        proof = service.inclusion_proof(session, context.school_id, entry_seq, size)
    _echo_json(proof.to_dict())


@audit.command("prove-consistency")
@click.argument("size1", type=click.IntRange(min=0))
@click.argument("size2", type=click.IntRange(min=0), required=False)
def prove_consistency_command(size1: int, size2: int | None) -> None:
    """Print a proof that the tree of SIZE1 is a prefix of SIZE2 (default: latest)."""
    context = context_from_click()
    with transaction(context.session_factory) as session:
        proof = service.consistency_proof(session, context.school_id, size1, size2)
    _echo_json(proof.to_dict())


def _load_public_keys(paths: tuple[Path, ...]) -> list[Ed25519PublicKey]:
    keys = []
    for path in paths:
        try:
            key = load_pem_public_key(path.read_bytes())
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise click.BadParameter(f"{path} is not a PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise click.BadParameter(f"{path} is not an Ed25519 public key")
        keys.append(key)
    return keys


@audit.command("check")
@click.argument("proof_file", type=click.File("r"))
@click.option(
    "--public-key",
    "key_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM public key of the school (repeatable); default: this school's keys.",
)
def check_command(proof_file: Any, key_paths: tuple[Path, ...]) -> None:
    """Check a proof document offline: the checkpoint signature, then the Merkle path."""
    try:
        document = loads_bounded(proof_file.read())
    except (ValueError, ValidationError) as exc:
        raise ProofError(f"the proof file is not JSON: {exc}") from exc
    keys: PublicKeys = (
        _load_public_keys(key_paths) if key_paths else context_from_click().public_keys
    )
    kind = document.get("type") if isinstance(document, dict) else None
    if kind == "inclusion":
        verified = InclusionProof.from_dict(document).verify_signed(keys)
        click.echo(
            f"OK: entry {document['seq']} is in {verified.checkpoint.log} at size "
            f"{verified.checkpoint.size}, signed by key {verified.key_id}"
        )
    elif kind == "consistency":
        ConsistencyProof.from_dict(document).verify_signed(keys)
        click.echo(f"OK: size {document['size1']} is a prefix of size {document['size2']}")
    else:
        raise ProofError("not an inclusion or consistency proof document")


@audit.command("key-id")
@click.argument("public_key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def key_id_command(public_key: Path) -> None:
    """Print the key id (SHA-256 of the raw key, hex) of a PEM Ed25519 public key."""
    click.echo(key_id(_load_public_keys((public_key,))[0]))
