"""transfer batches are made by a task: the plan of children and the run's progress

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 00:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from exchange.types import UTCDateTime

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("transfer_batches") as batch:
        batch.add_column(sa.Column("plan", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("offer", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("queued_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("progress_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("stopped", sa.String(length=500), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("transfer_batches") as batch:
        batch.drop_column("stopped")
        batch.drop_column("progress_at")
        batch.drop_column("queued_at")
        batch.drop_column("offer")
        batch.drop_column("plan")
