"""vault redaction runs as a task: its progress on the transfer

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 20:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from exchange.types import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column(
        "transfers", sa.Column("vault_queued_at", UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column("transfers", sa.Column("vault_total", sa.Integer(), nullable=True))
    op.add_column("transfers", sa.Column("vault_done", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("vault_done")
        batch.drop_column("vault_total")
        batch.drop_column("vault_queued_at")
