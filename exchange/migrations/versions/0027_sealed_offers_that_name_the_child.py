"""protocol 1.3: a signed offer that names the child is kept sealed, not in clear

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("transfers", sa.Column("offer_jws_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("offer_jws_sealed")
