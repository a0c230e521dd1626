"""outbox messages: effects of a state change, sent after commit

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import exchange.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", exchange.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatch_count", sa.Integer(), nullable=False),
        sa.Column("ran_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_outbox_messages_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_outbox_messages_transfer_id_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_messages_dispatched_at"), ["dispatched_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_messages_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_messages_transfer_id"), ["transfer_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("outbox_messages")
