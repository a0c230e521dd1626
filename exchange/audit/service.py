"""Append to, checkpoint, prove and verify one school's audit log in the database.

Every part of the product records its events through record_event(); the caller commits.
Appending reads one head row and one frontier, never the whole log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exchange.audit.checkpoint import (
    Checkpoint,
    as_private_key,
    key_id,
    log_id_for,
    sign_checkpoint,
)
from exchange.audit.entry import build_entry, canonical_bytes, format_time
from exchange.audit.errors import AuditLogError, ProofError
from exchange.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    SubtreeHash,
    consistency_path,
    hash_leaf,
    inclusion_path,
    subtrees_from_frontiers,
    verify_consistency,
)
from exchange.audit.models import AuditCheckpoint, AuditEntry, AuditEntryActor, AuditHead
from exchange.audit.proofs import ConsistencyProof, InclusionProof
from exchange.audit.verify import Finding, VerifyReport, verify_log
from exchange.db import utcnow

__all__ = [
    "Finding",
    "VerifyReport",
    "consistency_proof",
    "inclusion_proof",
    "latest_checkpoint",
    "make_checkpoint",
    "record_event",
    "verify_log",
]


def _lock_head(session: Session, school_id: int) -> AuditHead:
    """Create the school's head row if missing, then lock it until the transaction ends.

    PostgreSQL: INSERT .. ON CONFLICT DO NOTHING, then SELECT .. FOR UPDATE, so appenders
    queue on the row. SQLite: the INSERT is a write, so it takes the database write lock
    (waiting for the busy timeout) before anything is read.
    """
    dialect = session.get_bind().dialect.name
    values = {"school_id": school_id, "size": 0, "root": EMPTY_ROOT, "updated_at": utcnow()}
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        session.execute(
            insert(AuditHead).values(**values).on_conflict_do_nothing(index_elements=["school_id"])
        )
    elif session.get(AuditHead, school_id) is None:
        try:
            with session.begin_nested():
                session.add(AuditHead(**values))
        except IntegrityError:
            pass  # Another appender created it first; the lock below waits for it.
    query = (
        select(AuditHead)
        .where(AuditHead.school_id == school_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.execute(query).scalar_one()


def _entry_at(session: Session, school_id: int, seq: int) -> AuditEntry:
    entry = session.execute(
        select(AuditEntry).where(AuditEntry.school_id == school_id, AuditEntry.seq == seq)
    ).scalar_one_or_none()
    if entry is None:
        raise AuditLogError(
            f"audit entry {seq} of school {school_id} is missing: run `exchange audit verify`"
        )
    return entry


def stored_frontier(session: Session, school_id: int, size: int) -> Frontier:
    """Return the frontier stored with entry size-1, i.e. of the tree of that size."""
    if size == 0:
        return Frontier()
    row = session.execute(
        select(AuditEntry.frontier).where(
            AuditEntry.school_id == school_id, AuditEntry.seq == size - 1
        )
    ).scalar_one_or_none()
    if row is None:
        raise AuditLogError(
            f"audit entry {size - 1} of school {school_id} is missing: run `exchange audit verify`"
        )
    try:
        frontier = Frontier.from_bytes(row)
    except ValueError as exc:
        raise AuditLogError(f"the frontier stored with entry {size - 1} is damaged") from exc
    if frontier.size != size:
        raise AuditLogError(
            f"the frontier stored with entry {size - 1} is for size {frontier.size}"
        )
    return frontier


def stored_subtrees(session: Session, school_id: int) -> SubtreeHash:
    """Return a SubtreeHash answering from stored frontiers and leaf hashes."""

    def leaf_hash_at(seq: int) -> bytes:
        leaf = session.execute(
            select(AuditEntry.leaf_hash).where(
                AuditEntry.school_id == school_id, AuditEntry.seq == seq
            )
        ).scalar_one_or_none()
        if leaf is None:
            raise AuditLogError(f"audit entry {seq} of school {school_id} is missing")
        return leaf

    return subtrees_from_frontiers(
        lambda size: stored_frontier(session, school_id, size), leaf_hash_at
    )


def record_event(
    session: Session,
    school_id: int,
    actor_user_id: int | str | None,
    actor_role: str,
    event: str,
    object_type: str,
    object_id: int | str,
    request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one event to the school's audit log, in the caller's transaction."""
    head = _lock_head(session, school_id)
    frontier = stored_frontier(session, school_id, head.size)
    moment = now or utcnow()
    entry = build_entry(
        seq=head.size,
        school=school_id,
        time=moment,
        actor_user=actor_user_id,
        actor_role=actor_role,
        event=event,
        object_type=object_type,
        object_id=object_id,
        request=request_id,
        details=details,
    )
    data = canonical_bytes(entry)
    leaf = hash_leaf(data)
    frontier.append(leaf)
    row = AuditEntry(
        school_id=school_id,
        seq=entry["seq"],
        recorded_at=moment,
        event=event,
        object_type=object_type,
        object_id=entry["object"]["id"],
        canonical=data,
        leaf_hash=leaf,
        frontier=frontier.to_bytes(),
    )
    session.add(row)
    head.size = frontier.size
    head.root = frontier.root()
    head.updated_at = moment
    session.flush()
    actor = actor_user_of(entry)
    if actor is not None:
        session.add(AuditEntryActor(school_id=school_id, entry_id=row.id, user_id=actor))
        session.flush()
    return row


def actor_user_of(entry: Mapping[str, Any]) -> int | None:
    """Return the user id an entry names as its actor, if it names one."""
    user = (entry.get("actor") or {}).get("user")
    return int(user) if isinstance(user, str) and user.isdigit() else None


def latest_checkpoint(session: Session, school_id: int) -> AuditCheckpoint | None:
    """Return the school's most recent checkpoint (the one partners quote), if any."""
    return session.execute(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.school_id == school_id)
        .order_by(AuditCheckpoint.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def make_checkpoint(
    session: Session,
    school_id: int,
    signer: Ed25519PrivateKey,
    *,
    log_id: str | None = None,
    now: datetime | None = None,
) -> AuditCheckpoint:
    """Sign the current size and root of the school's log, after checking it extends the last."""
    signer = as_private_key(signer)
    head = _lock_head(session, school_id)
    frontier = stored_frontier(session, school_id, head.size)
    root = frontier.root()
    if root != head.root:
        raise AuditLogError("the stored head and frontier disagree: run `exchange audit verify`")
    previous = latest_checkpoint(session, school_id)
    if previous is not None:
        try:
            path = consistency_path(previous.size, head.size, stored_subtrees(session, school_id))
            verify_consistency(previous.size, head.size, previous.root, root, path)
        except ProofError as exc:
            raise AuditLogError(
                f"refusing to sign: the log is not consistent with checkpoint {previous.id} "
                f"({exc}); run `exchange audit verify`"
            ) from exc
    moment = now or utcnow()
    statement = Checkpoint(
        log=log_id or log_id_for(school_id), size=head.size, root=root, time=format_time(moment)
    )
    row = AuditCheckpoint(
        school_id=school_id,
        size=head.size,
        root=root,
        key_id=key_id(signer.public_key()),
        jws=sign_checkpoint(statement, signer),
        created_at=moment,
    )
    session.add(row)
    session.flush()
    return row


def _checkpoint_with_size(session: Session, school_id: int, size: int) -> AuditCheckpoint | None:
    return session.execute(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.school_id == school_id, AuditCheckpoint.size == size)
        .order_by(AuditCheckpoint.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _head_size(session: Session, school_id: int) -> int:
    head = session.get(AuditHead, school_id)
    return head.size if head else 0


def inclusion_proof(
    session: Session,
    school_id: int,
    seq: int,
    tree_size: int | None = None,
    *,
    log_id: str | None = None,
) -> InclusionProof:
    """Prove that entry seq is in the tree of tree_size (default: the latest checkpoint)."""
    checkpoint: AuditCheckpoint | None
    if tree_size is None:
        checkpoint = latest_checkpoint(session, school_id)
        if checkpoint is None or checkpoint.size <= seq:
            raise AuditLogError(
                f"no checkpoint covers entry {seq} yet: run `exchange audit checkpoint` first"
            )
        tree_size = checkpoint.size
    else:
        if tree_size > _head_size(session, school_id):
            raise AuditLogError(f"the log has fewer than {tree_size} entries")
        checkpoint = _checkpoint_with_size(session, school_id, tree_size)
    if not 0 <= seq < tree_size:
        raise AuditLogError(f"entry {seq} is not in the tree of size {tree_size}")
    entry = _entry_at(session, school_id, seq)
    path = inclusion_path(seq, tree_size, stored_subtrees(session, school_id))
    return InclusionProof(
        log=log_id or log_id_for(school_id),
        seq=seq,
        tree_size=tree_size,
        entry=entry.canonical,
        path=path,
        checkpoint=checkpoint.jws if checkpoint else None,
    )


def consistency_proof(
    session: Session,
    school_id: int,
    size1: int,
    size2: int | None = None,
    *,
    log_id: str | None = None,
) -> ConsistencyProof:
    """Prove the tree of size1 is a prefix of the tree of size2 (default: latest checkpoint)."""
    if size2 is None:
        latest = latest_checkpoint(session, school_id)
        if latest is None:
            raise AuditLogError("no checkpoint yet: run `exchange audit checkpoint` first")
        size2 = latest.size
    if size2 > _head_size(session, school_id):
        raise AuditLogError(f"the log has fewer than {size2} entries")
    if not 0 <= size1 <= size2:
        raise AuditLogError(f"size {size1} is not between 0 and {size2}")
    first = _checkpoint_with_size(session, school_id, size1)
    second = _checkpoint_with_size(session, school_id, size2)
    return ConsistencyProof(
        log=log_id or log_id_for(school_id),
        size1=size1,
        size2=size2,
        path=consistency_path(size1, size2, stored_subtrees(session, school_id)),
        checkpoint1=first.jws if first else None,
        checkpoint2=second.jws if second else None,
    )
