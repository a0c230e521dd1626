"""The `audit` command group, driven with a ctx.obj like the one the main CLI supplies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from exchange.audit import service
from exchange.audit.checkpoint import key_id
from exchange.audit.cli import audit


@pytest.fixture
def obj(
    factory: sessionmaker[Session], school_id: int, signing_key: Ed25519PrivateKey
) -> dict[str, Any]:
    with factory() as session:
        for number in range(6):
            service.record_event(session, school_id, 7, "dsl", "record.viewed", "pupil", number)
        session.commit()
    return {
        "session_factory": factory,
        "school_id": school_id,
        "signing_key": signing_key,
        "public_keys": [signing_key.public_key()],
    }


def run(obj: dict[str, Any], *args: str) -> Any:
    return CliRunner().invoke(audit, list(args), obj=obj, catch_exceptions=False)


def test_checkpoint_verify_prove_and_check(obj: dict[str, Any], tmp_path: Path) -> None:
    made = run(obj, "checkpoint")
    assert made.exit_code == 0, made.output
    assert made.stdout.strip().count(".") == 2

    verified = run(obj, "verify")
    assert verified.exit_code == 0
    assert "OK" in verified.stdout

    as_json = json.loads(run(obj, "verify", "--json").stdout)
    assert as_json["ok"] is True
    assert as_json["entries"] == 6

    proof = run(obj, "prove", "4")
    assert proof.exit_code == 0
    document = json.loads(proof.stdout)
    assert document["type"] == "inclusion"
    assert document["seq"] == 4
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(proof.stdout)

    pem = tmp_path / "school.pem"
    pem.write_bytes(
        obj["signing_key"]
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    checked = run({}, "check", str(proof_file), "--public-key", str(pem))
    assert checked.exit_code == 0, checked.output
    assert "OK: entry 4" in checked.stdout
    assert key_id(obj["signing_key"].public_key()) in checked.stdout

    document["entry"] = document["entry"].replace('"id":"4"', '"id":"5"')
    proof_file.write_text(json.dumps(document))
    tampered = run({}, "check", str(proof_file), "--public-key", str(pem))
    assert tampered.exit_code == 1
    assert "inclusion proof" in tampered.stderr

    assert run(obj, "key-id", str(pem)).stdout.strip() == key_id(obj["signing_key"].public_key())


def test_consistency_proof_command(obj: dict[str, Any], tmp_path: Path) -> None:
    run(obj, "checkpoint")
    with obj["session_factory"]() as session:
        service.record_event(session, obj["school_id"], 7, "dsl", "record.viewed", "pupil", 9)
        session.commit()
    run(obj, "checkpoint")
    proof = run(obj, "prove-consistency", "6")
    assert proof.exit_code == 0, proof.output
    proof_file = tmp_path / "consistency.json"
    proof_file.write_text(proof.stdout)
    checked = run(obj, "check", str(proof_file))
    assert checked.exit_code == 0, checked.output
    assert "size 6 is a prefix of size 7" in checked.stdout


def test_verify_reports_tampering_with_exit_status_1(obj: dict[str, Any], engine: Engine) -> None:
    run(obj, "checkpoint")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq = 2"))
    result = run(obj, "verify")
    assert result.exit_code == 1
    assert "first bad entry seq 2" in result.stdout


def test_prove_without_checkpoint_is_a_clear_error(obj: dict[str, Any]) -> None:
    result = run(obj, "prove", "1")
    assert result.exit_code == 1
    assert "run `exchange audit checkpoint` first" in result.stderr


def test_missing_context_key_is_a_usage_error(obj: dict[str, Any]) -> None:
    del obj["signing_key"]
    result = run(obj, "checkpoint")
    assert result.exit_code == 2
    assert "ctx.obj['signing_key']" in result.output


def test_scheduled_checkpoints_sign_each_grown_log_once(
    factory: sessionmaker[Session], school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    from exchange.audit.tasks import checkpoint_all_schools
    from tests.audit.support import add_school, append

    without_key = add_school(factory, 2)
    append(factory, school_id, 3)
    append(factory, without_key, 1)

    def load_signer(_session: Session, wanted: int) -> Ed25519PrivateKey | None:
        return signing_key if wanted == school_id else None

    first = checkpoint_all_schools(factory, load_signer)
    assert first == {"signed": [school_id], "unchanged": [], "no_key": [without_key], "failed": []}
    assert checkpoint_all_schools(factory, load_signer)["unchanged"] == [school_id]
    append(factory, school_id, 1, start=3)
    assert checkpoint_all_schools(factory, load_signer)["signed"] == [school_id]
    with factory() as session:
        report = service.verify_log(session, school_id, [signing_key.public_key()])
    assert report.ok
    assert report.checkpoints_valid == 2


def test_packaging_key_objects_are_accepted(factory: sessionmaker[Session], school_id: int) -> None:
    keys = pytest.importorskip("exchange.packaging.keys")
    signing = keys.SigningKey.generate()
    with factory() as session:
        service.record_event(session, school_id, 7, "dsl", "record.viewed", "pupil", 1)
        service.make_checkpoint(session, school_id, signing)
        session.commit()
    obj = {"session_factory": factory, "school_id": school_id, "public_keys": [signing.public]}
    assert run(obj, "verify").exit_code == 0


def test_check_refuses_a_proof_file_nested_thousands_deep(
    obj: dict[str, Any], tmp_path: Path
) -> None:
    proof_file = tmp_path / "deep.json"
    proof_file.write_text('{"type":' + "[" * 5000 + "]" * 5000 + "}")
    result = run(obj, "check", str(proof_file))
    assert result.exit_code == 1
    assert "the proof file is not JSON: JSON document nests more than" in result.stderr
