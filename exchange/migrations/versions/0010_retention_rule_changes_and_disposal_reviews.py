"""retention safety: rule changes waiting out their notice, and DPO disposal reviews

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import exchange.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "retention_rule_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("notice", sa.JSON(), nullable=False),
        sa.Column("proposed_by_user_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", exchange.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notice_sent_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("applied_version", sa.Integer(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state in ('pending', 'applied', 'cancelled')",
            name=op.f("ck_retention_rule_changes_known_state"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_user_id"],
            ["users.id"],
            name=op.f("fk_retention_rule_changes_closed_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_user_id"],
            ["users.id"],
            name=op.f("fk_retention_rule_changes_proposed_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_retention_rule_changes_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_rule_changes")),
    )
    with op.batch_alter_table("retention_rule_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retention_rule_changes_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_retention_rule_changes_state"), ["state"], unique=False
        )
    op.create_table(
        "disposal_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("pupil_ref", sa.String(length=80), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("window_until", sa.Date(), nullable=False),
        sa.Column("record_ids", sa.JSON(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", exchange.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "decision in ('destroy', 'hold')", name=op.f("ck_disposal_reviews_known_decision")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_disposal_reviews_decided_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_disposal_reviews_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_reviews")),
    )
    with op.batch_alter_table("disposal_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disposal_reviews_pupil_id"), ["pupil_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_disposal_reviews_school_id"), ["school_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("disposal_reviews")
    op.drop_table("retention_rule_changes")
