"""seal case content with each pupil's key; find pupils by a blind index of the UPN

Revision ID: 0011
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from exchange.vault.blind_index import blind_index
from exchange.vault.fields import encode_value, field_context, seal
from exchange.vault.keyring import BEFORE_EPOCHS, Keyring

revision = "0011"
down_revision = "0012"
branch_labels = None
depends_on = None

# table -> (column, kind, old type); the pupil of each row is found as in SQL below.
SEALED: dict[str, tuple[tuple[str, str, sa.types.TypeEngine[Any]], ...]] = {
    "pupils": (
        ("upn", "text", sa.String(13)),
        ("forename", "text", sa.String(100)),
        ("surname", "text", sa.String(100)),
        ("preferred_name", "text", sa.String(100)),
        ("other_names", "json", sa.JSON()),
        ("date_of_birth", "date", sa.Date()),
    ),
    "incidents": (("narrative", "text", sa.Text()),),
    "incident_actions": (("text", "text", sa.Text()),),
    "incident_edits": (("previous_value", "text", sa.Text()), ("new_value", "text", sa.Text())),
    "transfers": (
        ("conversation_participants", "text", sa.Text()),
        ("conversation_summary", "text", sa.Text()),
    ),
    "redacted_texts": (("text", "text", sa.Text()),),
    "vault_documents": (("original_filename", "text", sa.String(255)),),
}
OWNER_SQL = {
    "pupils": "SELECT t.id, t.school_id, t.id AS pupil_id, {cols} FROM pupils t",
    "incidents": "SELECT t.id, t.school_id, t.pupil_id, {cols} FROM incidents t",
    "incident_actions": (
        "SELECT t.id, t.school_id, i.pupil_id, {cols} FROM incident_actions t"
        " JOIN incidents i ON i.id = t.incident_id"
    ),
    "incident_edits": (
        "SELECT t.id, t.school_id, i.pupil_id, {cols} FROM incident_edits t"
        " JOIN incidents i ON i.id = t.incident_id"
    ),
    "transfers": "SELECT t.id, t.school_id, t.pupil_id, {cols} FROM transfers t",
    "redacted_texts": (
        "SELECT t.id, t.school_id, r.pupil_id, {cols} FROM redacted_texts t"
        " JOIN transfers r ON r.id = t.transfer_id"
    ),
    "vault_documents": "SELECT t.id, t.school_id, t.pupil_id, {cols} FROM vault_documents t",
}


def _as_plain(kind: str, stored: Any) -> Any:
    text = bytes(stored).decode() if isinstance(stored, bytes | memoryview) else str(stored)
    if kind == "json":
        return json.loads(text)
    if kind == "date":
        return date.fromisoformat(text[:10])
    return text


def _retype(to_blob: bool) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, columns in SEALED.items():
        with op.batch_alter_table(table) as batch:
            for column, _kind, old in columns:
                if to_blob:
                    using = f"convert_to({column}::text, 'UTF8')" if postgres else None
                    batch.alter_column(
                        column,
                        existing_type=old,
                        type_=sa.LargeBinary(),
                        nullable=True,
                        postgresql_using=using,
                    )


def _seal_rows(source: Callable[[], bytes]) -> None:
    connection = op.get_bind()
    ring = Keyring(source, {BEFORE_EPOCHS: True})  # Wrapped by the instance key, as then.
    for table, columns in SEALED.items():
        names = [column for column, _kind, _old in columns]
        cols = ", ".join(f"t.{name}" for name in names)
        rows = connection.execute(sa.text(OWNER_SQL[table].format(cols=cols))).all()
        target = sa.table(table, sa.column("id"), *(sa.column(n, sa.LargeBinary) for n in names))
        for row_id, school_id, pupil_id, *stored in rows:
            if all(value is None for value in stored):
                continue
            if pupil_id is None:
                raise RuntimeError(f"{table} row {row_id} holds case content but no pupil")
            key = ring.field_key(connection, school_id, pupil_id, create=True)
            values = {
                name: seal(
                    key,
                    field_context(table, name, school_id, pupil_id, row_id),
                    encode_value(kind, _as_plain(kind, value)),
                )
                for (name, kind, _old), value in zip(columns, stored, strict=True)
                if value is not None
            }
            connection.execute(sa.update(target).where(target.c.id == row_id).values(values))
            if table == "pupils":
                upn = _as_plain("text", stored[0])
                index = blind_index(source(), "upn", school_id, upn)
                connection.execute(
                    sa.text("UPDATE pupils SET upn_index = :index WHERE id = :id"),
                    {"index": index, "id": row_id},
                )


def upgrade() -> None:
    """Add the UPN blind index, retype sealed columns as binary and seal existing rows."""
    with op.batch_alter_table("pupils") as batch:
        batch.add_column(sa.Column("upn_index", sa.String(64), nullable=True))
    _retype(to_blob=True)
    connection = op.get_bind()
    has_rows = any(
        connection.execute(sa.select(sa.literal(1)).select_from(sa.table(table)).limit(1)).first()
        for table in SEALED
    )
    if has_rows:
        source = context.config.attributes.get("instance_key")
        if source is None:
            raise RuntimeError(
                "sealing existing case content needs the instance key: run `exchange db upgrade`"
            )
        _seal_rows(source)
    with op.batch_alter_table("pupils") as batch:
        batch.alter_column("upn_index", existing_type=sa.String(64), nullable=False)
        batch.drop_constraint("uq_pupils_school_id_upn", type_="unique")
        batch.create_unique_constraint("uq_pupils_school_id_upn_index", ["school_id", "upn_index"])


def downgrade() -> None:
    """Refuse: the clear text is gone, and opening it again would need every pupil's key."""
    from exchange.errors import ConfigError

    raise ConfigError(
        "revision 0011 cannot be downgraded: case content is sealed with each pupil's key; "
        "restore a backup taken before the upgrade instead"
    )
