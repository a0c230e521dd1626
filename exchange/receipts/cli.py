"""`exchange receipts`: export and check the evidence pack of a transfer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from exchange.cli_support import transfer_for
from exchange.receipts.evidence import summary_json, verify_pack
from exchange.receipts.service import export_pack


@click.group()
def receipts() -> None:
    """Signed receipts that both schools keep."""


@receipts.command("export")
@click.argument("reference")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def export(obj: dict[str, Any], reference: str, out: Path) -> None:
    """Write the evidence pack of a transfer into a new folder."""
    with obj["session_factory"]() as session:
        transfer = transfer_for(session, obj["school_id"], reference)
        export_pack(session, transfer, out)
    click.echo(f"evidence pack written to {out}")


@receipts.command("verify")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def verify(folder: Path) -> None:
    """Check an evidence pack offline with nothing but its contents."""
    from exchange.receipts.offline_evidence import is_offline_pack, verify_offline_pack

    if is_offline_pack(folder):
        click.echo(json.dumps(verify_offline_pack(folder).summary(), indent=2, sort_keys=True))
        click.echo("the offline receipt record verifies")
        return
    click.echo(summary_json(verify_pack(folder)))
    click.echo("the receipt and its countersignature verify")
