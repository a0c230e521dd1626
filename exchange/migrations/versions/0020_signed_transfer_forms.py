"""offline route: the signed transfer form a receiving school sent back, kept with the transfer

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 21:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("transfers", sa.Column("signed_form_storage_key", sa.String(100), nullable=True))
    op.add_column("transfers", sa.Column("signed_form_sha256", sa.String(64), nullable=True))
    op.add_column("transfers", sa.Column("signed_form_media_type", sa.String(100), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("signed_form_media_type")
        batch.drop_column("signed_form_sha256")
        batch.drop_column("signed_form_storage_key")
