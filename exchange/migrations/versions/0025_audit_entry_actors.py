"""audit log: an index of each entry's acting user, for the DPO's explorer's person filter

The audit entries are append-only (triggers refuse UPDATE), so the acting user goes into a
table of its own, filled here from each existing entry's canonical bytes.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 00:10:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5_000


def upgrade() -> None:
    """Apply this revision."""
    actors = op.create_table(
        "audit_entry_actors",
        sa.Column(
            "entry_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"]),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_index(
        "ix_audit_entry_actors_school_id", "audit_entry_actors", ["school_id"], unique=False
    )
    op.create_index(
        "ix_audit_entry_actors_user",
        "audit_entry_actors",
        ["school_id", "user_id", "entry_id"],
        unique=False,
    )
    _fill(op.get_bind(), actors)


def _fill(bind: sa.Connection, actors: sa.Table) -> None:
    """Index the acting user of every existing entry, a chunk at a time."""
    entries = sa.table(
        "audit_entries",
        sa.column("id", sa.BigInteger()),
        sa.column("school_id", sa.Integer()),
        sa.column("canonical", sa.LargeBinary()),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(entries.c.id, entries.c.school_id, entries.c.canonical)
            .where(entries.c.id > last)
            .order_by(entries.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        found = []
        for entry_id, school_id, canonical in rows:
            user = _actor_user(canonical)
            if user is not None:
                found.append({"entry_id": entry_id, "school_id": school_id, "user_id": user})
        if found:
            bind.execute(actors.insert(), found)
        last = rows[-1][0]


def _actor_user(canonical: bytes) -> int | None:
    """Return the entry's acting user id, or None (the service, or an unreadable entry)."""
    try:
        actor = json.loads(canonical).get("actor") or {}
    except (ValueError, AttributeError):
        return None  # `exchange audit verify` reports such an entry; the index skips it.
    user = actor.get("user") if isinstance(actor, dict) else None
    return int(user) if isinstance(user, str) and user.isdigit() else None


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_audit_entry_actors_user", table_name="audit_entry_actors")
    op.drop_index("ix_audit_entry_actors_school_id", table_name="audit_entry_actors")
    op.drop_table("audit_entry_actors")
