"""signed notices between schools (withdrawal, recall, destruction) and re-offers

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("transfers", sa.Column("notice_jws", sa.Text(), nullable=True))
    op.add_column("transfers", sa.Column("partner_notice_jws", sa.Text(), nullable=True))
    op.add_column("transfers", sa.Column("follows_uid", sa.String(length=36), nullable=True))
    op.add_column("transfers", sa.Column("follows_answer", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("follows_answer")
        batch.drop_column("follows_uid")
        batch.drop_column("partner_notice_jws")
        batch.drop_column("notice_jws")
