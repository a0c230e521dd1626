"""The audit log in the database: append, checkpoint, prove, verify, and detect tampering."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from exchange.audit import service
from exchange.audit.entry import parse_entry
from exchange.audit.errors import AuditLogError
from exchange.audit.merkle import Frontier, hash_leaf, root_of
from exchange.audit.models import AuditCheckpoint, AuditHead
from exchange.audit.triggers import install_append_only_trigger
from exchange.errors import ValidationError
from tests.audit.support import add_school, append, check_triggers, rows


def checkpoint(factory: sessionmaker[Session], school_id: int, key: Ed25519PrivateKey) -> int:
    with factory() as session:
        row = service.make_checkpoint(session, school_id, key)
        session.commit()
        return row.id


def verify(factory: sessionmaker[Session], school_id: int, key: Ed25519PrivateKey) -> Any:
    with factory() as session:
        return service.verify_log(session, school_id, [key.public_key()])


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement), params)


# ---- Appending and reading ----------------------------------------------------------------


def test_append_stores_canonical_bytes_leaf_hash_and_frontier(
    factory: sessionmaker[Session], school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    append(factory, school_id, 11)
    stored = rows(factory, school_id)
    assert [r.seq for r in stored] == list(range(11))
    frontier = Frontier()
    for row in stored:
        entry = parse_entry(row.canonical)
        assert entry["seq"] == row.seq
        assert entry["school"] == school_id
        assert entry["object"] == {"type": "pupil", "id": str(row.seq)}
        assert row.leaf_hash == hash_leaf(row.canonical)
        frontier.append(row.leaf_hash)
        assert Frontier.from_bytes(row.frontier) == frontier
    with factory() as session:
        head = session.get(AuditHead, school_id)
        assert head is not None
        assert (head.size, head.root) == (11, root_of([r.leaf_hash for r in stored]))
    report = verify(factory, school_id, signing_key)
    assert report.ok, report.lines()
    assert report.entries == 11


def test_append_cost_does_not_grow_with_the_log(
    engine: Engine, factory: sessionmaker[Session], school_id: int
) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    append(factory, school_id, 3)
    event.listen(engine, "before_cursor_execute", count)
    append(factory, school_id, 1, start=3)
    small = len(statements)
    append(factory, school_id, 200, start=4)
    statements.clear()
    append(factory, school_id, 1, start=204)
    event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == small
    assert not any("ORDER BY" in s for s in statements)


def test_personal_details_are_refused_and_nothing_is_written(
    factory: sessionmaker[Session], school_id: int
) -> None:
    with factory() as session:
        with pytest.raises(ValidationError, match="personal data"):
            service.record_event(
                session, school_id, 7, "dsl", "record.viewed", "pupil", 1, details={"name": "x"}
            )
        session.rollback()
    assert rows(factory, school_id) == []


def test_logs_of_two_schools_are_independent(
    factory: sessionmaker[Session], school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    other = add_school(factory, 2)
    append(factory, school_id, 3)
    append(factory, other, 2)
    assert [r.seq for r in rows(factory, other)] == [0, 1]
    assert verify(factory, school_id, signing_key).ok
    assert verify(factory, other, signing_key).ok


# ---- Checkpoints and proofs ---------------------------------------------------------------


def test_checkpoint_and_inclusion_and_consistency_proofs(
    factory: sessionmaker[Session], school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    keys = [signing_key.public_key()]
    append(factory, school_id, 6)
    checkpoint(factory, school_id, signing_key)
    append(factory, school_id, 7, start=6)
    checkpoint(factory, school_id, signing_key)
    with factory() as session:
        latest = service.latest_checkpoint(session, school_id)
        assert latest is not None
        assert latest.size == 13
        for seq in range(13):
            proof = service.inclusion_proof(session, school_id, seq)
            assert proof.tree_size == 13
            proof.verify_signed(keys)
        early = service.inclusion_proof(session, school_id, 2, 6)
        early.verify_signed(keys)
        unsigned = service.inclusion_proof(session, school_id, 2, 9)
        assert unsigned.checkpoint is None
        service.consistency_proof(session, school_id, 6).verify_signed(keys)
        service.consistency_proof(session, school_id, 6, 13).verify_signed(keys)
        with pytest.raises(AuditLogError, match="fewer than"):
            service.inclusion_proof(session, school_id, 2, 14)
    assert verify(factory, school_id, signing_key).checkpoints_valid == 2


def test_prove_before_any_checkpoint_says_what_to_do(
    factory: sessionmaker[Session], school_id: int
) -> None:
    append(factory, school_id, 2)
    with factory() as session, pytest.raises(AuditLogError, match="audit checkpoint"):
        service.inclusion_proof(session, school_id, 0)


def test_checkpoint_of_an_empty_log(
    factory: sessionmaker[Session], school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    checkpoint(factory, school_id, signing_key)
    report = verify(factory, school_id, signing_key)
    assert report.ok
    assert report.checkpoints_valid == 1


def test_make_checkpoint_refuses_a_log_inconsistent_with_the_last(
    engine: Engine,
    factory: sessionmaker[Session],
    school_id: int,
    signing_key: Ed25519PrivateKey,
) -> None:
    append(factory, school_id, 5)
    checkpoint(factory, school_id, signing_key)
    append(factory, school_id, 3, start=5)
    sql(engine, "UPDATE audit_entries SET leaf_hash = :h WHERE seq = 3", h=bytes(32))
    with factory() as session, pytest.raises(AuditLogError, match="not consistent"):
        service.make_checkpoint(session, school_id, signing_key)


# ---- Tampering ----------------------------------------------------------------------------


@pytest.fixture
def log_of_20(
    factory: sessionmaker[Session], school_id: int, signing_key: Ed25519PrivateKey
) -> sessionmaker[Session]:
    """Twenty entries with checkpoints at sizes 8 and 20."""
    append(factory, school_id, 8)
    checkpoint(factory, school_id, signing_key)
    append(factory, school_id, 12, start=8)
    checkpoint(factory, school_id, signing_key)
    assert verify(factory, school_id, signing_key).ok
    return factory


def expect(report: Any, first_bad_seq: int | None, *phrases: str) -> None:
    assert not report.ok
    assert report.first_bad_seq == first_bad_seq, report.lines()
    text_ = "\n".join(report.lines())
    for phrase in phrases:
        assert phrase in text_, text_


def test_edited_entry_text_is_found(
    engine: Engine, log_of_20: Any, school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    original = rows(log_of_20, school_id)[11].canonical
    edited = original.replace(b'"record.viewed"', b'"record.edited"')
    sql(engine, "UPDATE audit_entries SET canonical = :c WHERE seq = 11", c=edited)
    expect(verify(log_of_20, school_id, signing_key), 11, "seq 11", "altered")


def test_edit_with_recomputed_hashes_is_caught_by_the_checkpoints(
    engine: Engine, log_of_20: Any, school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    """An attacker rewrites entry 11 and every hash after it; only the signatures catch it."""
    stored = rows(log_of_20, school_id)
    entries = [r.canonical for r in stored]
    entries[11] = entries[11].replace(b'"n":11', b'"n":99')
    frontier = Frontier()
    for seq, data in enumerate(entries):
        frontier.append(hash_leaf(data))
        sql(
            engine,
            "UPDATE audit_entries SET canonical = :c, leaf_hash = :h, frontier = :f WHERE seq = :s",
            c=data,
            h=hash_leaf(data),
            f=frontier.to_bytes(),
            s=seq,
        )
    sql(engine, "UPDATE audit_heads SET root = :r", r=frontier.root())
    report = verify(log_of_20, school_id, signing_key)
    expect(report, 8, "from seq 8 to 19", "changed, removed or reordered")
    assert [f.checkpoint_id for f in report.findings] == [2]


def test_deleted_entry_is_found(
    engine: Engine, log_of_20: Any, school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    sql(engine, "DELETE FROM audit_entries WHERE seq = 5")
    expect(verify(log_of_20, school_id, signing_key), 5, "entries 5 to 5 are missing")


def test_swapped_entries_are_found(
    engine: Engine, log_of_20: Any, school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    sql(engine, "UPDATE audit_entries SET seq = -1 WHERE seq = 14")
    sql(engine, "UPDATE audit_entries SET seq = 14 WHERE seq = 9")
    sql(engine, "UPDATE audit_entries SET seq = 9 WHERE seq = -1")
    expect(verify(log_of_20, school_id, signing_key), 9, "stored at seq 9 says seq 14")


def test_swapped_entry_contents_are_found(
    engine: Engine, log_of_20: Any, school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    stored = rows(log_of_20, school_id)
    for a, b in ((3, 4), (4, 3)):
        sql(
            engine,
            "UPDATE audit_entries SET canonical = :c, leaf_hash = :h WHERE seq = :s",
            c=stored[b].canonical,
            h=stored[b].leaf_hash,
            s=a,
        )
    expect(verify(log_of_20, school_id, signing_key), 3, "reordered")


def test_truncated_log_is_found(
    engine: Engine, log_of_20: Any, school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    sql(engine, "DELETE FROM audit_entries WHERE seq >= 15")
    expect(verify(log_of_20, school_id, signing_key), 15, "truncated", "15 remain")


def test_truncation_with_a_rewritten_head_is_found_by_the_checkpoint(
    engine: Engine, log_of_20: Any, school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    stored = rows(log_of_20, school_id)
    sql(engine, "DELETE FROM audit_entries WHERE seq >= 15")
    sql(
        engine,
        "UPDATE audit_heads SET size = 15, root = :r",
        r=Frontier.from_bytes(stored[14].frontier).root(),
    )
    report = verify(log_of_20, school_id, signing_key)
    expect(report, 15, "covers 20 entries, 15 remain")
    assert report.findings[0].checkpoint_id == 2


def test_replaced_checkpoint_is_found(
    engine: Engine, log_of_20: Any, school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    forger = Ed25519PrivateKey.generate()
    with log_of_20() as session:
        forged = service.make_checkpoint(session, school_id, forger)
        token = forged.jws
        session.rollback()
    sql(engine, "UPDATE audit_checkpoints SET jws = :j WHERE id = 1", j=token)
    report = verify(log_of_20, school_id, signing_key)
    assert not report.ok
    assert report.findings[0].checkpoint_id == 1
    assert "unknown key" in report.findings[0].message
    assert report.checkpoints_valid == 1


def test_checkpoint_replaced_by_an_older_genuine_one_is_found(
    engine: Engine, log_of_20: Any, school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    with log_of_20() as session:
        first = session.get(AuditCheckpoint, 1)
        assert first is not None
        token, size, root = first.jws, first.size, first.root
    sql(
        engine,
        "UPDATE audit_checkpoints SET jws = :j, size = :s, root = :r WHERE id = 2",
        j=token,
        s=size,
        r=root,
    )
    report = verify(log_of_20, school_id, signing_key)
    assert [f.checkpoint_id for f in report.findings] == [2]
    assert "repeats checkpoint 1" in report.findings[0].message


def test_checkpoint_columns_changed_are_found(
    engine: Engine, log_of_20: Any, school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    sql(engine, "UPDATE audit_checkpoints SET size = 3 WHERE id = 1")
    report = verify(log_of_20, school_id, signing_key)
    assert "columns differ" in report.findings[0].message


def test_query_columns_changed_are_found(
    engine: Engine, log_of_20: Any, school_id: int, signing_key: Ed25519PrivateKey
) -> None:
    sql(engine, "UPDATE audit_entries SET object_id = '999' WHERE seq = 6")
    expect(verify(log_of_20, school_id, signing_key), 6, "query columns")


# ---- Append-only triggers -----------------------------------------------------------------


def test_sqlite_triggers_refuse_update_and_delete(
    engine: Engine, factory: sessionmaker[Session], school_id: int
) -> None:
    with engine.begin() as connection:
        install_append_only_trigger(connection)
        install_append_only_trigger(connection)  # Idempotent.
    check_triggers(engine, factory, school_id)
