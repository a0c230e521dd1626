"""audit log: an index on (school, time) for the DPO's audit explorer's date filter

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 21:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "ix_audit_entries_time", "audit_entries", ["school_id", "recorded_at"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_audit_entries_time", table_name="audit_entries")
