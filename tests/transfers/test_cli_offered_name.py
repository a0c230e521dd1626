"""On the CLI, the receiving school's DSL sees the offered child's name; nobody else does."""

from __future__ import annotations

from click.testing import CliRunner, Result
from totp_kit import acting, enrol
from transfer_kit import SUBJECT, Pair, offer_transfer

from exchange.cli import main
from exchange.instance import Instance
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import partner_url
from exchange.transfers.models import Transfer

NAME = f"{SUBJECT[0]} {SUBJECT[1]}"


def _run(cli_env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["--school", "990102", *args], env=cli_env)


def test_transfers_list_and_show_name_the_offered_child_to_the_receiving_dsl_only(
    instance: Instance, pair: Pair, transport: WsgiTransport, cli_env: dict[str, str]
) -> None:
    transfer_id, uid, offer = offer_transfer(instance, pair)
    with instance.sessions() as session:
        url = partner_url(session.get(Transfer, transfer_id), "offers")
    assert transport.post(url, offer).status == 202
    enrol(instance, "dsl2@example.org")
    enrol(instance, "dpo2@example.org")

    plain = _run(cli_env, "transfers", "list")
    assert plain.exit_code == 0, plain.output
    assert uid in plain.output
    assert SUBJECT[1] not in plain.output
    named = _run(cli_env, "transfers", "list", *acting(instance, "dsl2@example.org"))
    assert named.exit_code == 0, named.output
    assert f"{NAME} (as the offer names them), born 2016-04-02" in named.output
    refused = _run(cli_env, "transfers", "list", *acting(instance, "dpo2@example.org"))
    assert refused.exit_code == 1
    assert SUBJECT[1] not in refused.output

    shown = _run(cli_env, "transfers", "show", uid[:8], *acting(instance, "dsl2@example.org"))
    assert shown.exit_code == 0, shown.output
    assert f"child     {NAME} (as the offer names them), born 2016-04-02, UPN" in shown.output
    by_dpo = _run(cli_env, "transfers", "show", uid[:8], *acting(instance, "dpo2@example.org"))
    assert SUBJECT[1] not in by_dpo.output
