"""Database triggers that make the audit tables append-only, for PostgreSQL and SQLite."""

from __future__ import annotations

from sqlalchemy import Connection

from exchange.errors import ConfigError

POSTGRESQL_INSTALL = (
    """CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = 'audit log is append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused';
END;
$$""",
    """CREATE OR REPLACE FUNCTION audit_refuse_shrink() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.size < OLD.size OR NEW.school_id <> OLD.school_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'insufficient_privilege',
            MESSAGE = 'audit log is append-only: the head of a log cannot move back';
    END IF;
    RETURN NEW;
END;
$$""",
    "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries",
    """CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()""",
    "DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries",
    """CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()""",
    "DROP TRIGGER IF EXISTS audit_checkpoints_append_only ON audit_checkpoints",
    """CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()""",
    "DROP TRIGGER IF EXISTS audit_checkpoints_no_truncate ON audit_checkpoints",
    """CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()""",
    "DROP TRIGGER IF EXISTS audit_heads_no_delete ON audit_heads",
    """CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()""",
    "DROP TRIGGER IF EXISTS audit_heads_no_truncate ON audit_heads",
    """CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()""",
    "DROP TRIGGER IF EXISTS audit_heads_no_shrink ON audit_heads",
    """CREATE TRIGGER audit_heads_no_shrink BEFORE UPDATE ON audit_heads
FOR EACH ROW EXECUTE FUNCTION audit_refuse_shrink()""",
)

POSTGRESQL_UNINSTALL = (
    "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries",
    "DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries",
    "DROP TRIGGER IF EXISTS audit_checkpoints_append_only ON audit_checkpoints",
    "DROP TRIGGER IF EXISTS audit_checkpoints_no_truncate ON audit_checkpoints",
    "DROP TRIGGER IF EXISTS audit_heads_no_delete ON audit_heads",
    "DROP TRIGGER IF EXISTS audit_heads_no_truncate ON audit_heads",
    "DROP TRIGGER IF EXISTS audit_heads_no_shrink ON audit_heads",
    "DROP FUNCTION IF EXISTS audit_refuse_change()",
    "DROP FUNCTION IF EXISTS audit_refuse_shrink()",
)

# SQLite has no TRUNCATE; DELETE without WHERE fires the row triggers.
_SQLITE_GUARDS = (
    ("audit_entries", "UPDATE"),
    ("audit_entries", "DELETE"),
    ("audit_checkpoints", "UPDATE"),
    ("audit_checkpoints", "DELETE"),
    ("audit_heads", "DELETE"),
)

SQLITE_INSTALL = (
    *(
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: {op} on {table} refused'); END"
        for table, op in _SQLITE_GUARDS
    ),
    "CREATE TRIGGER IF NOT EXISTS audit_heads_no_shrink BEFORE UPDATE ON audit_heads "
    "WHEN NEW.size < OLD.size OR NEW.school_id <> OLD.school_id "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only: the head of a log cannot move back'); "
    "END",
)

SQLITE_UNINSTALL = (
    *(f"DROP TRIGGER IF EXISTS {table}_no_{op.lower()}" for table, op in _SQLITE_GUARDS),
    "DROP TRIGGER IF EXISTS audit_heads_no_shrink",
)


def install_append_only_trigger(connection: Connection) -> None:
    """Create the triggers refusing UPDATE and DELETE on the audit tables (idempotent)."""
    for statement in _statements(connection, install=True):
        connection.exec_driver_sql(statement)


def uninstall_append_only_trigger(connection: Connection) -> None:
    """Drop the triggers (for a migration's downgrade)."""
    for statement in _statements(connection, install=False):
        connection.exec_driver_sql(statement)


def _statements(connection: Connection, *, install: bool) -> tuple[str, ...]:
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return POSTGRESQL_INSTALL if install else POSTGRESQL_UNINSTALL
    if dialect == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_UNINSTALL
    raise ConfigError(
        f"the service runs on PostgreSQL or SQLite; {dialect} has no append-only audit triggers"
    )
