"""who opened a redacted document in the viewer, before confirming it

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import exchange.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "document_openings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", exchange.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["redaction_reviews.id"],
            name=op.f("fk_document_openings_review_id_redaction_reviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_document_openings_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_document_openings_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_openings")),
        sa.UniqueConstraint(
            "review_id", "user_id", name=op.f("uq_document_openings_review_id_user_id")
        ),
    )
    with op.batch_alter_table("document_openings") as batch:
        batch.create_index(batch.f("ix_document_openings_review_id"), ["review_id"])
        batch.create_index(batch.f("ix_document_openings_school_id"), ["school_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("document_openings")
