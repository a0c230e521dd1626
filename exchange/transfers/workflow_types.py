"""The parts an action of the transfer workflow is declared with, and its one refusal."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from exchange.instance import Instance
from exchange.records.models import School
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer
from exchange.transfers.states import TransitionRefused

ONLINE = "online"
OFFLINE = "offline"
REFUSAL_CODES = {400: "precondition_failed", 403: "forbidden", 409: "transition_refused"}


class ActionRefused(TransitionRefused):
    """An action the workflow refused: the reason in words, and nothing changed."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 409,
        audit: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = REFUSAL_CODES.get(status_code, "transition_refused")
        self.audit = audit


@dataclass
class Step:
    """One action being taken: who, on which transfer, at which school, with which inputs."""

    session: Session
    instance: Instance | None
    school: School
    transfer: Transfer | None
    actor: Actor
    inputs: dict[str, Any]
    target: str | None = None
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def need_transfer(self) -> Transfer:
        """Return the transfer, which every action but the first has."""
        assert self.transfer is not None
        return self.transfer

    @property
    def need_instance(self) -> Instance:
        """Return the instance, for actions that sign, store or redact."""
        assert self.instance is not None
        return self.instance


@dataclass(frozen=True)
class Precondition:
    """A check before an action: returns the refusal in words, or None when it holds."""

    describe: str
    check: Callable[[Step], str | None]


@dataclass(frozen=True)
class Effect:
    """A task queued through the outbox when the action's transaction commits."""

    task: str
    describe: str
    args: Callable[[Transfer], list[Any]]
    when: Callable[[Transfer], bool] = lambda _transfer: True


@dataclass(frozen=True)
class Action:
    """One action: where it starts (per route), where it ends, who, when, and what follows."""

    name: str
    summary: str
    sides: frozenset[str]
    sources: Mapping[str, frozenset[str | None]]
    targets: tuple[str | None, ...]
    permission: str
    run: Callable[[Step], Any]
    preconditions: tuple[Precondition, ...] = ()
    effects: tuple[Effect, ...] = ()
    audit_refusals: bool = False
    then: str | None = None

    def starts_from(self, route: str, state: str | None) -> bool:
        """Return whether the action may start from this state on this route."""
        return state in self.sources.get(route, frozenset())
