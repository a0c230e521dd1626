"""Search, filter and sort: transfers by child, UPN, school, state, direction and deadline;
pupils by name or UPN (the UPN through its blind index, names opened with each pupil's key)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.calendar.terms import SchoolCalendar
from exchange.records.models import Pupil
from exchange.records.sealed_reads import upn_is
from exchange.transfers import progress
from exchange.transfers.models import INCOMING, OUTGOING, Transfer
from exchange.transfers.offered_name import child_name as transfer_child_name

MAX_QUERY = 100
SORTS = {
    "deadline": "Deadline, soonest first",
    "child": "Child",
    "school": "Other school",
    "state": "State",
    "newest": "Newest first",
}
DUE = {"overdue": "Overdue", "soon": "Due within 5 school days"}
DIRECTIONS = {OUTGOING: "Outgoing", INCOMING: "Incoming"}


def _clean(value: object) -> str:
    return str(value or "").strip()[:MAX_QUERY]


def child_name(pupil: Pupil | None) -> str:
    """Return the child's name as a DSL sees it, or an empty string."""
    if pupil is None:
        return ""
    return " ".join(part for part in (pupil.forename, pupil.surname) if part)


@dataclass(frozen=True)
class TransferQuery:
    """What the transfer list is narrowed to, and its order (all from the query string)."""

    text: str = ""
    school: str = ""
    state: str = ""
    direction: str = ""
    due: str = ""
    sort: str = "deadline"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> TransferQuery:
        """Read the filters from a request's arguments, ignoring values that are not offered."""
        direction, due, sort = (
            _clean(args.get("direction")),
            _clean(args.get("due")),
            args.get("sort"),
        )
        return cls(
            text=_clean(args.get("q")),
            school=_clean(args.get("school")),
            state=_clean(args.get("state")),
            direction=direction if direction in DIRECTIONS else "",
            due=due if due in DUE else "",
            sort=sort if sort in SORTS else "deadline",
        )

    @property
    def active(self) -> bool:
        """Return whether anything narrows the list."""
        return bool(self.text or self.school or self.state or self.direction or self.due)

    def _matches_text(self, transfer: Transfer, names: bool) -> bool:
        wanted = self.text.casefold()
        if wanted.replace(" ", "").upper() in (transfer.pupil_upn or "").upper():
            return True
        return names and wanted in transfer_child_name(transfer).casefold()

    def _matches_due(self, transfer: Transfer, calendar: SchoolCalendar, today: date) -> bool:
        overdue = progress.is_overdue(transfer, today)
        if self.due == "overdue":
            return overdue
        return bool(
            progress.awaits_file(transfer)
            and not overdue
            and transfer.deadline
            and calendar.school_days_between(today, transfer.deadline) <= 5
        )

    def apply(
        self,
        transfers: Iterable[Transfer],
        calendar: SchoolCalendar,
        today: date,
        *,
        names: bool,
    ) -> list[Transfer]:
        """Return the transfers that match, in the chosen order (names only for DSLs)."""
        rows = [
            t
            for t in transfers
            if (not self.text or self._matches_text(t, names))
            and (not self.school or self.school.casefold() in t.partner.name.casefold())
            and (not self.state or progress.in_state(t, self.state))
            and (not self.direction or t.direction == self.direction)
            and (not self.due or self._matches_due(t, calendar, today))
        ]
        keys = {
            "deadline": lambda t: (t.deadline is None, t.deadline or today, t.id),
            "child": lambda t: (
                (transfer_child_name(t) if names else "").casefold(),
                t.pupil_upn or "",
                t.id,
            ),
            "school": lambda t: (t.partner.name.casefold(), t.id),
            "state": lambda t: (t.state, t.id),
            "newest": lambda t: -t.id,
        }
        return sorted(rows, key=keys[self.sort])


def find_pupils(session: Session, school_id: int, text: str) -> list[Pupil]:
    """Return the school's pupils whose UPN is `text` or whose name contains it."""
    text = _clean(text)
    if not text:
        return []
    upn = text.replace(" ", "").upper()
    found: dict[int, Pupil] = {}
    if len(upn) == 13 and upn.isalnum():
        for pupil in session.scalars(
            select(Pupil).where(Pupil.school_id == school_id, upn_is(session, school_id, upn))
        ):
            found[pupil.id] = pupil
    wanted = text.casefold()
    for pupil in session.scalars(select(Pupil).where(Pupil.school_id == school_id)):
        names = [child_name(pupil), pupil.preferred_name or ""]
        if any(wanted in name.casefold() for name in names):
            found[pupil.id] = pupil
    return sorted(found.values(), key=lambda p: (child_name(p).casefold(), p.id))
