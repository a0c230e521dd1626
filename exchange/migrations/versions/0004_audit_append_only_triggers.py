"""audit log: refuse UPDATE and DELETE on entries and checkpoints

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:10:00
"""

from collections.abc import Sequence

from alembic import op

from exchange.audit.triggers import install_append_only_trigger, uninstall_append_only_trigger

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Install the append-only triggers (PostgreSQL functions, or SQLite triggers)."""
    install_append_only_trigger(op.get_bind())


def downgrade() -> None:
    """Remove the append-only triggers."""
    uninstall_append_only_trigger(op.get_bind())
