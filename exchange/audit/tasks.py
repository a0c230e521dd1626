"""Scheduled checkpoints: sign every school's audit log on the Celery beat schedule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exchange.audit.models import AuditHead
from exchange.audit.service import latest_checkpoint, make_checkpoint
from exchange.db import transaction
from exchange.errors import ExchangeError
from exchange.logs import get_logger
from exchange.tasks import names

log = get_logger(__name__)
CHECKPOINT_TASK = names.CHECKPOINT_ALL

# Returns the school's signing key (Ed25519PrivateKey or SigningKey), or None if it has none.
SignerLoader = Callable[[Session, int], Any]


def checkpoint_all_schools(
    factory: sessionmaker[Session], load_signer: SignerLoader
) -> dict[str, list[int]]:
    """Sign a checkpoint of each school's log that grew since its last; report school ids."""
    from exchange.records.models import School

    with factory() as session:
        school_ids = list(session.scalars(select(School.id).order_by(School.id)))
    outcome: dict[str, list[int]] = {"signed": [], "unchanged": [], "no_key": [], "failed": []}
    for school_id in school_ids:
        try:
            with transaction(factory) as session:
                signer = load_signer(session, school_id)
                if signer is None:
                    outcome["no_key"].append(school_id)
                    continue
                previous = latest_checkpoint(session, school_id)
                head = session.get(AuditHead, school_id)
                if previous is not None and previous.size == (head.size if head else 0):
                    outcome["unchanged"].append(school_id)
                    continue
                row = make_checkpoint(session, school_id, signer)
                outcome["signed"].append(school_id)
                log.info(
                    "audit checkpoint",
                    extra={"school_id": school_id, "size": row.size, "checkpoint_id": row.id},
                )
        except ExchangeError as exc:
            outcome["failed"].append(school_id)
            log.error("audit checkpoint failed", extra={"school_id": school_id, "error": exc.code})
    return outcome


@shared_task(name=CHECKPOINT_TASK, acks_late=True, ignore_result=False)
def checkpoint_all() -> dict[str, list[int]]:
    """Sign a checkpoint of every school's audit log with its current signing key."""
    from exchange.packaging.keys import current_key, load_signing_key
    from exchange.packaging.models import KIND_SIGNING
    from exchange.tasks.worker import worker_instance

    instance = worker_instance()

    def load_signer(session: Session, school_id: int) -> Any:
        if current_key(session, school_id, KIND_SIGNING) is None:
            return None
        return load_signing_key(session, school_id, instance.instance_key)

    outcome = checkpoint_all_schools(instance.sessions, load_signer)
    if outcome["failed"]:
        raise ExchangeError(f"audit checkpoints failed for schools {outcome['failed']}")
    return outcome
