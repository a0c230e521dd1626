"""index due records by school and date, and the foreign keys the purge deletes through

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01 16:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "ix_incidents_school_id_retain_until", "incidents", ["school_id", "retain_until"]
    )
    op.create_index(
        "ix_vault_documents_school_id_retain_until",
        "vault_documents",
        ["school_id", "retain_until"],
    )
    op.create_index("ix_incident_linked_pupils_pupil_id", "incident_linked_pupils", ["pupil_id"])
    op.create_index("ix_vault_documents_incident_id", "vault_documents", ["incident_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_vault_documents_incident_id", table_name="vault_documents")
    op.drop_index("ix_incident_linked_pupils_pupil_id", table_name="incident_linked_pupils")
    op.drop_index("ix_vault_documents_school_id_retain_until", table_name="vault_documents")
    op.drop_index("ix_incidents_school_id_retain_until", table_name="incidents")
