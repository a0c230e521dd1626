"""destinations beyond partner schools: other nations, independent, abroad, local authorities

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("kind", sa.String(length=30)),
    ("identifier", sa.String(length=20)),
    ("country", sa.String(length=100)),
    ("address", sa.Text()),
    ("contact_name", sa.String(length=200)),
    ("contact_email", sa.String(length=254)),
    ("contact_phone", sa.String(length=40)),
    ("purpose", sa.String(length=30)),
)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("partners") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.alter_column("urn", existing_type=sa.String(length=6), nullable=True)
        batch.alter_column("laestab", existing_type=sa.String(length=7), nullable=True)
    op.execute("UPDATE partners SET kind = 'partner_school'")
    with op.batch_alter_table("partners") as batch:
        batch.alter_column("kind", existing_type=sa.String(length=30), nullable=False)


def downgrade() -> None:
    """Revert this revision (refused while a destination without a URN exists)."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM partners WHERE urn IS NULL LIMIT 1")).first():
        raise RuntimeError("destinations without a URN exist: they cannot be kept in revision 0015")
    with op.batch_alter_table("partners") as batch:
        batch.alter_column("laestab", existing_type=sa.String(length=7), nullable=False)
        batch.alter_column("urn", existing_type=sa.String(length=6), nullable=False)
        for name, _kind in reversed(COLUMNS):
            batch.drop_column(name)
