"""Server-side web sessions, account approvals (two-person rule) and revocable invitations.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:35:55.424645
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import exchange.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "account_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("requested_by_user_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", exchange.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_account_approvals_decided_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["users.id"],
            name=op.f("fk_account_approvals_requested_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_account_approvals_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_account_approvals_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_approvals")),
    )
    with op.batch_alter_table("account_approvals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_approvals_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_account_approvals_user_id"), ["user_id"], unique=False)

    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", exchange.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", exchange.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("second_factor_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_web_sessions_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_ended_at"), ["ended_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_sessions_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revoked_at", exchange.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")

    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_school_id"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_ended_at"))

    op.drop_table("web_sessions")
    with op.batch_alter_table("account_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_approvals_user_id"))
        batch_op.drop_index(batch_op.f("ix_account_approvals_school_id"))

    op.drop_table("account_approvals")
