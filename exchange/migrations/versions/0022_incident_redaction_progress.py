"""incident texts are redacted by the vault task too: their progress on the transfer

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("transfers", sa.Column("incidents_total", sa.Integer(), nullable=True))
    op.add_column("transfers", sa.Column("incidents_done", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("incidents_done")
        batch.drop_column("incidents_total")
