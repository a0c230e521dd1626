"""Service counters computed from the database and audit log, in Prometheus text format.

Every figure is read from the database on each scrape, so it is the same whichever web
process answers and counts what every worker did. Labels carry only school URNs (public
identifiers of schools), transfer directions and states: never a pupil, a person or a file.

The exposition is written here rather than with `prometheus_client`: the values are not
held in process memory (so none of that client's registries or its gunicorn multiprocess
mode would be used), and the text format for a handful of counters and gauges is short.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.audit.models import AuditEntry, AuditHead
from exchange.records.models import School
from exchange.transfers.models import Transfer

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DELIVERY_RETRY_EVENT = "transfer.delivery_retry"
PURGE_FINISHED_EVENT = "retention.purge_finished"
DISPOSAL_CERTIFIED_EVENT = "retention.disposal_certified"
COUNTED_EVENTS = (DELIVERY_RETRY_EVENT, PURGE_FINISHED_EVENT, DISPOSAL_CERTIFIED_EVENT)


@dataclass
class Metric:
    """One metric family: its name, type, help text and labelled samples."""

    name: str
    kind: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def exposition(self) -> str:
        """Return the family in the Prometheus text exposition format."""
        name = f"{self.name}_total" if self.kind == "counter" else self.name
        lines = [f"# HELP {name} {_escape_help(self.help)}", f"# TYPE {name} {self.kind}"]
        lines += [f"{name}{_labels(labels)} {_number(value)}" for labels, value in self.samples]
        return "\n".join(lines) + "\n"


def collect(session: Session) -> list[Metric]:
    """Read every metric from the database."""
    urns = dict(session.execute(select(School.id, School.urn)).all())
    events = _audit_event_counts(session)
    heads = dict(session.execute(select(AuditHead.school_id, AuditHead.size)).all())
    return [
        _schools(urns),
        _transfers_by_state(session, urns),
        _per_school(
            "exchange_delivery_retries",
            "Bundle deliveries retried after the partner was unreachable or answered 5xx.",
            urns,
            events.get(DELIVERY_RETRY_EVENT, {}),
        ),
        _per_school(
            "exchange_receipts_verified",
            "Receipts from receiving schools verified against what was sent.",
            urns,
            _receipts_verified(session),
        ),
        _per_school(
            "exchange_purges_run",
            "Retention purge runs finished.",
            urns,
            events.get(PURGE_FINISHED_EVENT, {}),
        ),
        _per_school(
            "exchange_disposal_certificates",
            "Disposal certificates signed by purge runs.",
            urns,
            events.get(DISPOSAL_CERTIFIED_EVENT, {}),
        ),
        _per_school("exchange_audit_entries", "Entries in each school's audit log.", urns, heads),
    ]


def render(metrics: Iterable[Metric]) -> str:
    """Return the whole exposition for these metric families."""
    return "".join(metric.exposition() for metric in metrics)


def _schools(urns: dict[int, str]) -> Metric:
    metric = Metric("exchange_schools", "gauge", "Schools hosted on this instance.")
    metric.samples.append(({}, len(urns)))
    return metric


def _transfers_by_state(session: Session, urns: dict[int, str]) -> Metric:
    metric = Metric(
        "exchange_transfers", "gauge", "Transfers by school, direction and current state."
    )
    rows = session.execute(
        select(Transfer.school_id, Transfer.direction, Transfer.state, func.count())
        .group_by(Transfer.school_id, Transfer.direction, Transfer.state)
        .order_by(Transfer.school_id, Transfer.direction, Transfer.state)
    )
    for school_id, direction, state, count in rows:
        labels = {"school": urns.get(school_id, str(school_id)), "direction": direction}
        metric.samples.append(({**labels, "state": state}, count))
    return metric


def _receipts_verified(session: Session) -> dict[int, int]:
    query = (
        select(Transfer.school_id, func.count())
        .where(Transfer.receipt_verified_at.is_not(None))
        .group_by(Transfer.school_id)
    )
    return dict(session.execute(query).all())


def _audit_event_counts(session: Session) -> dict[str, dict[int, int]]:
    """Count the counted events per school in one pass over the audit log."""
    query = (
        select(AuditEntry.event, AuditEntry.school_id, func.count())
        .where(AuditEntry.event.in_(COUNTED_EVENTS))
        .group_by(AuditEntry.event, AuditEntry.school_id)
    )
    counts: dict[str, dict[int, int]] = {}
    for event, school_id, count in session.execute(query):
        counts.setdefault(event, {})[school_id] = count
    return counts


def _per_school(name: str, help_text: str, urns: dict[int, str], counts: dict[int, int]) -> Metric:
    metric = Metric(name, "counter", help_text)
    metric.samples.extend(({"school": urn}, counts.get(sid, 0)) for sid, urn in urns.items())
    return metric


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape_label(value)}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
