"""a subject access response sent back keeps the DPO's note sealed, for the DSL to read

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column(
        "subject_access_requests", sa.Column("sent_back_note", sa.LargeBinary(), nullable=True)
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("subject_access_requests") as batch:
        batch.drop_column("sent_back_note")
