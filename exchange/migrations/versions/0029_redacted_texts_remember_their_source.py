"""each redacted text keeps a sealed digest of the text it was made from

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (texts redacted before it have no digest and are not compared)."""
    op.add_column("redacted_texts", sa.Column("source_sha256", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("redacted_texts") as batch:
        batch.drop_column("source_sha256")
