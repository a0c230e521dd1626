"""subject access requests: the request, its people, items, exemptions and steps

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 17:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import exchange.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "subject_access_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_uid", sa.String(length=36), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("requester_name", sa.LargeBinary(), nullable=True),
        sa.Column("requester_relationship", sa.String(length=20), nullable=False),
        sa.Column("requester_contact", sa.LargeBinary(), nullable=True),
        sa.Column("identity_check", sa.LargeBinary(), nullable=True),
        sa.Column("authority_check", sa.LargeBinary(), nullable=True),
        sa.Column("linked_to_child", sa.Boolean(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("extension_months", sa.Integer(), nullable=False),
        sa.Column("extension_reason", sa.LargeBinary(), nullable=True),
        sa.Column("extension_told_on", sa.Date(), nullable=True),
        sa.Column("child_age_at_receipt", sa.Integer(), nullable=True),
        sa.Column("child_consulted", sa.Boolean(), nullable=True),
        sa.Column("child_views", sa.LargeBinary(), nullable=True),
        sa.Column("scope_from", sa.Date(), nullable=True),
        sa.Column("scope_to", sa.Date(), nullable=True),
        sa.Column("scope_categories", sa.JSON(), nullable=False),
        sa.Column("redacted_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_by_user_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_by_user_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("response_storage_key", sa.String(length=100), nullable=True),
        sa.Column("response_sha256", sa.String(length=64), nullable=True),
        sa.Column("response_size", sa.BigInteger(), nullable=True),
        sa.Column("receipt_code_hash", sa.String(length=200), nullable=True),
        sa.Column("delivery", sa.String(length=10), nullable=True),
        sa.Column("package_sha256", sa.String(length=64), nullable=True),
        sa.Column("sent_by_user_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.LargeBinary(), nullable=True),
        sa.Column("refusal_reason", sa.LargeBinary(), nullable=True),
        sa.Column("closed_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("last_reminder_on", sa.Date(), nullable=True),
        sa.Column("logged_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", exchange.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "requester_relationship in ('self', 'parent', 'carer', 'representative')",
            name=op.f("ck_subject_access_requests_known_relationship"),
        ),
        sa.CheckConstraint(
            "state in ('open', 'awaiting_approval', 'approved', 'sent', 'closed', 'refused')",
            name=op.f("ck_subject_access_requests_known_state"),
        ),
        sa.CheckConstraint(
            "extension_months between 0 and 2",
            name=op.f("ck_subject_access_requests_extension_at_most_two"),
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_user_id"],
            ["users.id"],
            name=op.f("fk_subject_access_requests_approved_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["logged_by_user_id"],
            ["users.id"],
            name=op.f("fk_subject_access_requests_logged_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_subject_access_requests_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_user_id"],
            ["users.id"],
            name=op.f("fk_subject_access_requests_sent_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_user_id"],
            ["users.id"],
            name=op.f("fk_subject_access_requests_submitted_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_access_requests")),
        sa.UniqueConstraint(
            "school_id",
            "request_uid",
            name=op.f("uq_subject_access_requests_school_id_request_uid"),
        ),
    )
    op.create_index(
        op.f("ix_subject_access_requests_due_on"),
        "subject_access_requests",
        ["due_on"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subject_access_requests_pupil_id"),
        "subject_access_requests",
        ["pupil_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subject_access_requests_retain_until"),
        "subject_access_requests",
        ["retain_until"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subject_access_requests_school_id"),
        "subject_access_requests",
        ["school_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subject_access_requests_state"), "subject_access_requests", ["state"], unique=False
    )
    op.create_table(
        "subject_access_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("included", sa.Boolean(), nullable=False),
        sa.Column("in_scope", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=True),
        sa.Column("occurred_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("category", sa.String(length=420), nullable=False),
        sa.Column("provenance", sa.String(length=300), nullable=False),
        sa.Column("redacted", sa.LargeBinary(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolution_note", sa.LargeBinary(), nullable=True),
        sa.Column("resolved_by_user_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", exchange.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redacted_storage_key", sa.String(length=100), nullable=True),
        sa.Column("redacted_sha256", sa.String(length=64), nullable=True),
        sa.Column("redacted_size", sa.BigInteger(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind in ('incident', 'document')", name=op.f("ck_subject_access_items_known_kind")
        ),
        sa.CheckConstraint(
            "resolution is null or resolution in ('confirmed', 'kept', 'excluded')",
            name=op.f("ck_subject_access_items_known_resolution"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["subject_access_requests.id"],
            name=op.f("fk_subject_access_items_request_id_subject_access_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_user_id"],
            ["users.id"],
            name=op.f("fk_subject_access_items_resolved_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_subject_access_items_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_access_items")),
        sa.UniqueConstraint(
            "request_id",
            "kind",
            "object_id",
            name=op.f("uq_subject_access_items_request_id_kind_object_id"),
        ),
    )
    op.create_index(
        op.f("ix_subject_access_items_request_id"),
        "subject_access_items",
        ["request_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subject_access_items_school_id"),
        "subject_access_items",
        ["school_id"],
        unique=False,
    )
    op.create_table(
        "subject_access_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.LargeBinary(), nullable=True),
        sa.Column("added_by_user_id", sa.Integer(), nullable=True),
        sa.Column("added_at", exchange.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "role in ('third_party', 'staff_removed')",
            name=op.f("ck_subject_access_people_known_role"),
        ),
        sa.ForeignKeyConstraint(
            ["added_by_user_id"],
            ["users.id"],
            name=op.f("fk_subject_access_people_added_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["subject_access_requests.id"],
            name=op.f("fk_subject_access_people_request_id_subject_access_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_subject_access_people_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_members.id"],
            name=op.f("fk_subject_access_people_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_access_people")),
    )
    op.create_index(
        op.f("ix_subject_access_people_request_id"),
        "subject_access_people",
        ["request_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subject_access_people_school_id"),
        "subject_access_people",
        ["school_id"],
        unique=False,
    )
    op.create_table(
        "subject_access_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("at", exchange.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_role", sa.String(length=20), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["subject_access_requests.id"],
            name=op.f("fk_subject_access_steps_request_id_subject_access_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_subject_access_steps_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_subject_access_steps_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_access_steps")),
    )
    op.create_index(
        op.f("ix_subject_access_steps_request_id"),
        "subject_access_steps",
        ["request_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subject_access_steps_school_id"),
        "subject_access_steps",
        ["school_id"],
        unique=False,
    )
    op.create_table(
        "subject_access_exemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("exemption", sa.String(length=40), nullable=False),
        sa.Column("passage", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sa.LargeBinary(), nullable=True),
        sa.Column("consulted", sa.LargeBinary(), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", exchange.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_subject_access_exemptions_decided_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["subject_access_items.id"],
            name=op.f("fk_subject_access_exemptions_item_id_subject_access_items"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["subject_access_requests.id"],
            name=op.f("fk_subject_access_exemptions_request_id_subject_access_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_subject_access_exemptions_school_id_schools"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_access_exemptions")),
    )
    op.create_index(
        op.f("ix_subject_access_exemptions_item_id"),
        "subject_access_exemptions",
        ["item_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subject_access_exemptions_request_id"),
        "subject_access_exemptions",
        ["request_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subject_access_exemptions_school_id"),
        "subject_access_exemptions",
        ["school_id"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(
        op.f("ix_subject_access_exemptions_school_id"), table_name="subject_access_exemptions"
    )
    op.drop_index(
        op.f("ix_subject_access_exemptions_request_id"), table_name="subject_access_exemptions"
    )
    op.drop_index(
        op.f("ix_subject_access_exemptions_item_id"), table_name="subject_access_exemptions"
    )
    op.drop_table("subject_access_exemptions")
    op.drop_index(op.f("ix_subject_access_steps_school_id"), table_name="subject_access_steps")
    op.drop_index(op.f("ix_subject_access_steps_request_id"), table_name="subject_access_steps")
    op.drop_table("subject_access_steps")
    op.drop_index(op.f("ix_subject_access_people_school_id"), table_name="subject_access_people")
    op.drop_index(op.f("ix_subject_access_people_request_id"), table_name="subject_access_people")
    op.drop_table("subject_access_people")
    op.drop_index(op.f("ix_subject_access_items_school_id"), table_name="subject_access_items")
    op.drop_index(op.f("ix_subject_access_items_request_id"), table_name="subject_access_items")
    op.drop_table("subject_access_items")
    op.drop_index(op.f("ix_subject_access_requests_state"), table_name="subject_access_requests")
    op.drop_index(
        op.f("ix_subject_access_requests_school_id"), table_name="subject_access_requests"
    )
    op.drop_index(
        op.f("ix_subject_access_requests_retain_until"), table_name="subject_access_requests"
    )
    op.drop_index(op.f("ix_subject_access_requests_pupil_id"), table_name="subject_access_requests")
    op.drop_index(op.f("ix_subject_access_requests_due_on"), table_name="subject_access_requests")
    op.drop_table("subject_access_requests")
