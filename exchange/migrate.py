"""Run and check Alembic migrations from the service's own settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from exchange.models import metadata


def alembic_config(url: str) -> Config:
    """Return an Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", "exchange:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(
    engine: Engine,
    revision: str = "head",
    instance_key: Callable[[], bytes] | None = None,
    wrapping_key_dir: Path | None = None,
) -> None:
    """Bring the database schema up to a revision (instance_key seals existing content).

    wrapping_key_dir is where 0026 puts the wrapping-key epoch that rewraps pupil keys.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # Rebuilding a referenced table on SQLite needs foreign keys off, outside the
            # transaction; they are checked before the commit and turned back on after.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                config.attributes["instance_key"] = instance_key
                config.attributes["wrapping_key_dir"] = wrapping_key_dir
                command.upgrade(config, revision)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("the migration left rows that break a foreign key")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def is_current(engine: Engine) -> bool:
    """Return whether the database is at the newest migration."""
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


def pending_model_changes(engine: Engine) -> list[object]:
    """Return the differences between the models and the migrated database."""
    from alembic.autogenerate import compare_metadata

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))
