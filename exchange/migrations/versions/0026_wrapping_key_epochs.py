"""pupil data keys: wrapped under a wrapping-key epoch kept in the key directory

Every pupil data key wrapped by the instance key is rewrapped under epoch 1, a random key in
the instance's wrapping-key directory (exchange.vault.epochs). Needs the instance key and the
directory (`exchange db upgrade` passes both). Not reversible: the epoch keys may already
have been rotated and destroyed.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 00:30:00.000000
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 1_000


def upgrade() -> None:
    """Apply this revision."""
    keys = sa.table(
        "pupil_data_keys",
        sa.column("pupil_id", sa.Integer),
        sa.column("school_id", sa.Integer),
        sa.column("wrapped_key", sa.LargeBinary),
        sa.column("wrapping_epoch", sa.Integer),
    )
    connection = op.get_bind()
    live = sa.select(keys.c.pupil_id).where(keys.c.wrapped_key.is_not(None)).limit(1)
    any_keys = connection.execute(live).first() is not None
    source = context.config.attributes.get("instance_key")
    directory = context.config.attributes.get("wrapping_key_dir")
    if any_keys and (source is None or directory is None):
        # Checked before any change: SQLite commits an added column at once.
        raise RuntimeError(
            "migration 0026 rewraps pupil keys: run it with `exchange db upgrade`, which "
            "passes the instance key and the wrapping-key directory"
        )
    with op.batch_alter_table("pupil_data_keys") as batch:
        batch.add_column(sa.Column("wrapping_epoch", sa.Integer(), nullable=True))
    if not any_keys:
        return
    waiting = keys.c.wrapped_key.is_not(None) & keys.c.wrapping_epoch.is_(None)
    from exchange.vault.epochs import EpochKeys
    from exchange.vault.keyring import key_context_of

    epochs = EpochKeys(Path(directory), source())
    last = 0
    while True:
        rows = connection.execute(
            sa.select(keys.c.pupil_id, keys.c.school_id, keys.c.wrapped_key)
            .where(waiting, keys.c.pupil_id > last)
            .order_by(keys.c.pupil_id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        for pupil_id, school_id, wrapped in rows:
            context_bytes = key_context_of(school_id, pupil_id)
            key = epochs.unwrap(wrapped, context_bytes, None)
            rewrapped, epoch = epochs.wrap(key, context_bytes)
            connection.execute(
                sa.update(keys)
                .where(keys.c.pupil_id == pupil_id)
                .values(wrapped_key=rewrapped, wrapping_epoch=epoch)
            )
        last = rows[-1][0]


def downgrade() -> None:
    """Refuse: the epoch keys may have been destroyed at a purge since (as 0011 refuses)."""
    from exchange.errors import ConfigError

    raise ConfigError(
        "revision 0026 cannot be downgraded: pupil keys are wrapped under wrapping-key epochs "
        "whose older keys a purge destroys; restore a backup taken before the upgrade instead"
    )
