"""index audit entries by event

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:34:42.863982
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    # Not in batch mode: recreating audit_entries would drop its append-only triggers.
    op.create_index("ix_audit_entries_event", "audit_entries", ["school_id", "event"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_audit_entries_event", table_name="audit_entries")
