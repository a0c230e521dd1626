"""Alembic environment: runs migrations on the connection or URL the service passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from exchange.models import metadata

config = context.config


def run_migrations() -> None:
    """Run migrations online, reusing a connection the caller supplied when there is one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as fresh:
        _run(fresh)
        fresh.commit()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
