"""`exchange audit verify` on a database whose audit rows were rewritten by hand.

Every malformed value is reported as a finding at its entry's seq with exit status 1, never a
traceback. The rows are changed with SQL as someone with write access to the database could:
on PostgreSQL as a superuser, with the append-only triggers switched off for the transaction.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

from exchange.audit import service
from exchange.audit.cli import audit
from exchange.db import make_session_factory
from tests.audit.support import add_school, append

NESTED = b"[" * 50_000 + b"]" * 50_000
# SQLite enforces NOT NULL, so a NULL needs the table rebuilt without it, as an attacker could.
SQLITE_LOOSE_ENTRIES = (
    "CREATE TABLE loose AS SELECT * FROM audit_entries",
    "DROP TABLE audit_entries",
    "ALTER TABLE loose RENAME TO audit_entries",
)


@dataclass(frozen=True)
class Tampering:
    """SQL that damages a stored log, per database, and the finding it must produce."""

    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...] | None  # None: PostgreSQL's types cannot hold this damage.
    expected: str
    params: dict[str, Any] | None = None


def entry_bytes(value: bytes) -> Tampering:
    """Replace entry 3's bytes with these, on both databases."""
    statement = ("UPDATE audit_entries SET canonical = :value WHERE seq = 3",)
    return Tampering(statement, statement, "[seq 3] entry bytes were altered", {"value": value})


TAMPERINGS = {
    "bytes rewritten as text": Tampering(
        ("UPDATE audit_entries SET canonical = CAST(canonical AS TEXT) WHERE seq = 3",),
        (
            "ALTER TABLE audit_entries ALTER COLUMN canonical TYPE text "
            "USING convert_from(canonical, 'UTF8')",
        ),
        "[seq 3] entry was altered in the database: its canonical is stored as text, not bytes",
    ),
    "bytes set to NULL": Tampering(
        (*SQLITE_LOOSE_ENTRIES, "UPDATE audit_entries SET canonical = NULL WHERE seq = 3"),
        (
            "ALTER TABLE audit_entries ALTER COLUMN canonical DROP NOT NULL",
            "UPDATE audit_entries SET canonical = NULL WHERE seq = 3",
        ),
        "[seq 3] entry was altered in the database: its canonical is NULL",
    ),
    "leaf hash truncated": Tampering(
        ("UPDATE audit_entries SET leaf_hash = substr(leaf_hash, 1, 16) WHERE seq = 3",),
        ("UPDATE audit_entries SET leaf_hash = substr(leaf_hash, 1, 16) WHERE seq = 3",),
        "[seq 3] entry bytes were altered: they no longer match the leaf hash",
    ),
    "leaf hash set to text": Tampering(
        ("UPDATE audit_entries SET leaf_hash = 'abc' WHERE seq = 3",),
        None,
        "[seq 3] entry was altered in the database: its leaf_hash is stored as text, not bytes",
    ),
    "garbage JSON": entry_bytes(b'{"v": 1, "seq": 3, garbage'),
    "not UTF-8": entry_bytes(b"\xff\xfe{}"),
    "JSON nested 50,000 deep": entry_bytes(NESTED),
    "JSON list instead of an entry": entry_bytes(b"[]"),
    "JSON string instead of an entry": entry_bytes(b'"entry"'),
    "JSON null instead of an entry": entry_bytes(b"null"),
    "entry with fields of the wrong type": entry_bytes(
        b'{"actor":[],"details":1,"event":2,"object":"x","request":null,"school":"1",'
        b'"seq":"3","time":4,"v":1}'
    ),
    "frontier garbage": Tampering(
        ("UPDATE audit_entries SET frontier = :value WHERE seq = 3",),
        ("UPDATE audit_entries SET frontier = :value WHERE seq = 3",),
        "[seq 3] the frontier stored with this entry differs",
        {"value": b"\x01"},
    ),
    "seq set to text": Tampering(
        ("UPDATE audit_entries SET seq = 'three' WHERE seq = 5",),
        None,
        "[seq 5] entry was altered in the database: its seq is stored as text",
    ),
    "time set to garbage": Tampering(
        ("UPDATE audit_entries SET recorded_at = 'yesterday' WHERE seq = 3",),
        None,
        "[seq 3] entry was altered in the database: its recorded_at is stored as text",
    ),
    "event set to bytes": Tampering(
        ("UPDATE audit_entries SET event = :value WHERE seq = 3",),
        None,
        "[seq 3] entry was altered in the database: its event is stored as bytes, not text",
        {"value": b"record.viewed"},
    ),
    "checkpoint rewritten as bytes": Tampering(
        ("UPDATE audit_checkpoints SET jws = CAST(jws AS BLOB)",),
        (
            "ALTER TABLE audit_checkpoints ALTER COLUMN jws TYPE bytea "
            "USING convert_to(jws, 'UTF8')",
        ),
        "checkpoint row was damaged: its jws is stored as bytes, not text",
    ),
    "checkpoint garbage": Tampering(
        ("UPDATE audit_checkpoints SET jws = 'a.b.c'",),
        ("UPDATE audit_checkpoints SET jws = 'a.b.c'",),
        "checkpoint was replaced or damaged",
    ),
    "checkpoint nested header": Tampering(
        ("UPDATE audit_checkpoints SET jws = :value",),
        ("UPDATE audit_checkpoints SET jws = :value",),
        "checkpoint was replaced or damaged",
        {"value": base64.urlsafe_b64encode(NESTED).decode().rstrip("=") + ".e30.AA"},
    ),
    "head root set to text": Tampering(
        ("UPDATE audit_heads SET root = 'abc'",),
        ("ALTER TABLE audit_heads ALTER COLUMN root TYPE text USING encode(root, 'hex')",),
        "the head row was damaged: its root is stored as text, not bytes",
    ),
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Engine:
    """Return an audit database on SQLite, and on PostgreSQL when one is configured."""
    fixture = "engine" if request.param == "sqlite" else "postgres_engine"
    return request.getfixturevalue(fixture)


def tamper(engine: Engine, tampering: Tampering) -> None:
    """Run the damaging SQL as someone with write access to the database would."""
    statements = getattr(tampering, engine.dialect.name)
    if statements is None:
        pytest.skip(f"{engine.dialect.name} column types cannot hold this damage")
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # A superuser can switch the append-only triggers off for one transaction.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            connection.execute(text(statement), tampering.params or {})


def verify(engine: Engine, school_id: int, key: Ed25519PrivateKey, *args: str) -> Any:
    """Run `audit verify`; an exception escaping the command fails the test."""
    obj = {
        "session_factory": make_session_factory(engine),
        "school_id": school_id,
        "public_keys": [key.public_key()],
    }
    return CliRunner().invoke(audit, ["verify", *args], obj=obj, catch_exceptions=False)


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_a_tampered_row_is_a_finding_not_a_traceback(
    name: str, database: Engine, signing_key: Ed25519PrivateKey
) -> None:
    factory = make_session_factory(database)
    school_id = add_school(factory)
    append(factory, school_id, 6)
    with factory() as session:
        service.make_checkpoint(session, school_id, signing_key)
        session.commit()
    assert verify(database, school_id, signing_key).exit_code == 0
    tamper(database, TAMPERINGS[name])
    result = verify(database, school_id, signing_key)
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.stdout
    assert TAMPERINGS[name].expected in result.stdout, result.stdout
    as_json = verify(database, school_id, signing_key, "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["ok"] is False
