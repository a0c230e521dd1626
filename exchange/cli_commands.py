"""Every `exchange` command: where it lives and its one-line help, read without importing it."""

from __future__ import annotations

from exchange.cli_lazy import LazyCommand

# The summaries must equal each command's own short help; tests/test_cli_start.py checks them.
COMMANDS = (
    LazyCommand("db", "exchange.cli_admin", "db", "Create or upgrade the database."),
    LazyCommand(
        "schools", "exchange.cli_admin", "schools", "Manage the schools this instance hosts."
    ),
    LazyCommand("users", "exchange.cli_admin", "users", "Manage the people who sign in."),
    LazyCommand(
        "records",
        "exchange.records.cli",
        "records",
        "Import a school's records and read Common Transfer Files.",
    ),
    LazyCommand(
        "policy",
        "exchange.policy.cli",
        "policy",
        "Choose the school's category tree and which categories transfer with a child.",
    ),
    LazyCommand(
        "demo",
        "exchange.demo.cli",
        "demo",
        "Load synthetic demo data (safe to run again: nothing is duplicated).",
    ),
    LazyCommand(
        "serve",
        "exchange.serve",
        "serve",
        "Run the web app with a Celery worker and its embedded beat.",
    ),
    LazyCommand(
        "worker",
        "exchange.serve",
        "worker",
        "Run a Celery worker for this instance (production runs beat separately).",
    ),
    LazyCommand(
        "audit",
        "exchange.audit.cli",
        "audit",
        "Verify the school's tamper-evident audit log, sign checkpoints and print proofs.",
    ),
    LazyCommand(
        "redact",
        "exchange.redaction.cli",
        "redact",
        "Remove other children's names from PDFs and text.",
    ),
    LazyCommand(
        "keys",
        "exchange.packaging.cli_keys",
        "keys",
        "Manage this school's signing and encryption keys.",
    ),
    LazyCommand(
        "bundle", "exchange.packaging.cli_bundle", "bundle", "Verify and open transfer bundles."
    ),
    LazyCommand(
        "partners",
        "exchange.partners.cli",
        "partners",
        "Manage the partner directory: other schools and their keys.",
    ),
    LazyCommand(
        "calendar",
        "exchange.calendar.cli",
        "calendar",
        "Set the school's term dates and INSET days: the 5-school-day clock counts them.",
    ),
    LazyCommand(
        "pupils",
        "exchange.records.pupils_cli",
        "pupils",
        "List the school's pupils and their UPNs (names for DSLs only).",
    ),
    LazyCommand(
        "batches",
        "exchange.transfers.batch_cli",
        "batches",
        "Transfers of many leavers at once (September): create, offer, authorise.",
    ),
    LazyCommand(
        "transfers",
        "exchange.transfers.cli",
        "transfers",
        "Send and receive children's safeguarding files.",
    ),
    LazyCommand(
        "receipts", "exchange.receipts.cli", "receipts", "Signed receipts that both schools keep."
    ),
    LazyCommand(
        "retention",
        "exchange.retention.cli",
        "retention",
        "See what retention will destroy, and set the rules.",
    ),
    LazyCommand(
        "purge",
        "exchange.retention.cli",
        "purge_command",
        "Destroy what is due today, not held and approved, with a signed certificate.",
    ),
    LazyCommand(
        "subject-access",
        "exchange.subject_access.cli",
        "subject_access",
        "Subject access requests: log, prepare, approve, send and close them.",
    ),
    LazyCommand(
        "holds",
        "exchange.retention.cli",
        "holds",
        "Place, release and list legal holds (nothing held is ever purged).",
    ),
    LazyCommand(
        "dpo",
        "exchange.retention.cli_dpo",
        "dpo",
        "The DPO's audit explorer, register for an auditor and UPN lookup.",
    ),
)
