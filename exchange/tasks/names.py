"""Every Celery task name, once: producers and the worker import these constants."""

from __future__ import annotations

HEARTBEAT = "exchange.heartbeat"
CHECKPOINT_ALL = "exchange.audit.checkpoint_all"
PURGE = "exchange.retention.purge"
SEND_MESSAGE = "exchange.transfers.send_message"
DELIVER = "exchange.transfers.deliver"
COUNTERSIGN = "exchange.transfers.countersign"
NOTIFY = "exchange.transfers.notify"
TRANSFERS_DAILY = "exchange.transfers.daily"
TRANSFERS_RESUME = "exchange.transfers.resume"
DISPATCH_OUTBOX = "exchange.outbox.dispatch"
SAR_REMIND = "exchange.subject_access.remind"
REDACT_VAULT = "exchange.transfers.redact_vault"
CREATE_BATCH = "exchange.transfers.create_batch"

# Tasks that only the outbox dispatcher queues: each carries the id of its outbox row.
OUTBOX_TASKS = frozenset({SEND_MESSAGE, DELIVER, COUNTERSIGN, NOTIFY, REDACT_VAULT, CREATE_BATCH})
