"""incident edits name the follow-up transfer that merged them, so a recall can undo them

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 00:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("incident_edits") as batch:
        batch.add_column(sa.Column("merged_by_transfer_id", sa.Integer(), nullable=True))
        batch.create_index(
            batch.f("ix_incident_edits_merged_by_transfer_id"),
            ["merged_by_transfer_id"],
            unique=False,
        )
        batch.create_foreign_key(
            batch.f("fk_incident_edits_merged_by_transfer_id_transfers"),
            "transfers",
            ["merged_by_transfer_id"],
            ["id"],
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("incident_edits") as batch:
        batch.drop_constraint(
            batch.f("fk_incident_edits_merged_by_transfer_id_transfers"), type_="foreignkey"
        )
        batch.drop_index(batch.f("ix_incident_edits_merged_by_transfer_id"))
        batch.drop_column("merged_by_transfer_id")
