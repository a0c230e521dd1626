"""follow-up transfers and categories that survive the move

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 17:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("transfer_items", sa.Column("sent_sha256", sa.String(length=64), nullable=True))
    op.add_column("incidents", sa.Column("source_category", sa.String(length=300), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("source_category")
    with op.batch_alter_table("transfer_items") as batch:
        batch.drop_column("sent_sha256")
