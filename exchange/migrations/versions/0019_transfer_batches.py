"""transfer batches: many leavers made, offered and authorised together

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 20:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from exchange.types import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "transfer_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_uid", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "direction in ('outgoing', 'incoming')",
            name=op.f("ck_transfer_batches_known_direction"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_transfer_batches_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_transfer_batches_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_transfer_batches_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_batches")),
        sa.UniqueConstraint(
            "school_id", "batch_uid", name=op.f("uq_transfer_batches_school_id_batch_uid")
        ),
    )
    op.create_index(
        op.f("ix_transfer_batches_school_id"), "transfer_batches", ["school_id"], unique=False
    )
    with op.batch_alter_table("transfers") as batch:
        batch.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_transfers_batch_id"), ["batch_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_transfers_batch_id_transfer_batches"),
            "transfer_batches",
            ["batch_id"],
            ["id"],
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("transfers") as batch:
        batch.drop_constraint(batch.f("fk_transfers_batch_id_transfer_batches"), type_="foreignkey")
        batch.drop_index(batch.f("ix_transfers_batch_id"))
        batch.drop_column("batch_id")
    op.drop_index(op.f("ix_transfer_batches_school_id"), table_name="transfer_batches")
    op.drop_table("transfer_batches")
