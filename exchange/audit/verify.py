"""Recompute a school's audit log from its stored entries and check it against its checkpoints.

The numbered steps are those of docs/audit-log.md, "Verifying a log".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from exchange.audit.checkpoint import (
    Checkpoint,
    PublicKeys,
    keys_by_id,
    log_id_for,
    verify_checkpoint,
)
from exchange.audit.entry import parse_entry, parse_time
from exchange.audit.errors import InvalidCheckpoint
from exchange.audit.merkle import EMPTY_ROOT, HASH_SIZE, Frontier, hash_leaf
from exchange.audit.stored import StoredRow, stored_checkpoints, stored_entries, stored_head
from exchange.errors import ValidationError

MAX_FINDINGS = 100


@dataclass(frozen=True)
class Finding:
    """One thing wrong, at entry seq (or somewhere in seq .. last_seq when that is set)."""

    message: str
    seq: int | None = None
    checkpoint_id: int | None = None
    last_seq: int | None = None


@dataclass
class VerifyReport:
    """The result of verify_log: counts, the recomputed root, and what is wrong."""

    school_id: int
    log: str
    entries: int = 0
    head_size: int = 0
    root: bytes = EMPTY_ROOT
    checkpoints: int = 0
    checkpoints_valid: int = 0
    findings: list[Finding] = field(default_factory=list)
    more_findings: int = 0

    @property
    def ok(self) -> bool:
        """Return True when nothing is wrong."""
        return not self.findings

    @property
    def first_bad_seq(self) -> int | None:
        """Return the first entry seq at which something was changed, removed or reordered.

        An entry-level finding is exact. A checkpoint mismatch only bounds the change to a
        range; it decides only when the whole range lies before every exact finding.
        """
        exact = [f.seq for f in self.findings if f.seq is not None and f.last_seq is None]
        first = min(exact) if exact else None
        earlier = [
            f.seq
            for f in self.findings
            if f.seq is not None
            and f.last_seq is not None
            and (first is None or f.last_seq < first)
        ]
        return min(earlier) if earlier else first

    def add(
        self,
        message: str,
        seq: int | None = None,
        checkpoint_id: int | None = None,
        last_seq: int | None = None,
    ) -> None:
        """Record a finding, keeping at most MAX_FINDINGS."""
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(message, seq, checkpoint_id, last_seq))
        else:
            self.more_findings += 1

    def lines(self) -> list[str]:
        """Return a human-readable report."""
        out = [
            f"log {self.log}: {self.entries} entries, head size {self.head_size}, "
            f"root {self.root.hex()}",
            f"checkpoints: {self.checkpoints_valid} of {self.checkpoints} valid",
        ]
        if self.ok:
            out.append("OK: every entry and every checkpoint verifies")
            return out
        out.append(f"FAILED: first bad entry seq {self.first_bad_seq}")
        for finding in self.findings:
            where = []
            if finding.seq is not None and finding.last_seq is not None:
                where.append(f"seq {finding.seq}-{finding.last_seq}")
            elif finding.seq is not None:
                where.append(f"seq {finding.seq}")
            if finding.checkpoint_id is not None:
                where.append(f"checkpoint {finding.checkpoint_id}")
            out.append(f"- [{', '.join(where) or 'log'}] {finding.message}")
        if self.more_findings:
            out.append(f"- ... and {self.more_findings} more")
        return out


@dataclass
class _CheckedCheckpoint:
    row_id: int
    statement: Checkpoint


def _check_checkpoints(
    session: Session, school_id: int, report: VerifyReport, public_keys: PublicKeys
) -> list[_CheckedCheckpoint]:
    """Steps 1-3: verify each checkpoint's signature, fields and order."""
    keys = keys_by_id(public_keys)
    checked: list[_CheckedCheckpoint] = []
    seen_tokens: dict[str, int] = {}
    previous: _CheckedCheckpoint | None = None
    for row in stored_checkpoints(session, school_id):
        report.checkpoints += 1
        if row.problems:
            report.add("checkpoint row was damaged: " + "; ".join(row.problems), None, row["id"])
            continue
        # Step 1: the signature verifies with one of the school's keys.
        try:
            statement = verify_checkpoint(row["jws"], keys).checkpoint
        except InvalidCheckpoint as exc:
            report.add(f"checkpoint was replaced or damaged: {exc}", checkpoint_id=row["id"])
            continue
        # Step 2: it is for this log, and the stored columns say what the JWS says.
        problems = []
        if statement.log != report.log:
            problems.append(f"it is for log {statement.log!r}")
        if (row["size"], row["root"]) != (statement.size, statement.root):
            problems.append("its size or root columns differ from its signed payload")
        if row["jws"] in seen_tokens:
            problems.append(f"it repeats checkpoint {seen_tokens[row['jws']]}")
        # Step 3: checkpoints never go back in size or time.
        if previous is not None:
            if statement.size < previous.statement.size:
                problems.append(
                    f"its size {statement.size} is smaller than that of the earlier "
                    f"checkpoint {previous.row_id} ({previous.statement.size})"
                )
            if parse_time(statement.time) < parse_time(previous.statement.time):
                problems.append(f"it is older than the earlier checkpoint {previous.row_id}")
        seen_tokens.setdefault(row["jws"], row["id"])
        if problems:
            report.add("checkpoint was replaced: " + "; ".join(problems), checkpoint_id=row["id"])
            continue
        report.checkpoints_valid += 1
        previous = _CheckedCheckpoint(row["id"], statement)
        checked.append(previous)
    return checked


def _check_entries(
    session: Session, school_id: int, report: VerifyReport, sizes: set[int]
) -> tuple[Frontier, dict[int, bytes]]:
    """Steps 4-7: re-hash every stored entry in order, checking seq, bytes and columns."""
    frontier = Frontier()
    roots = {0: EMPTY_ROOT}
    expected_seq = 0
    frontier_reported = False
    for row in stored_entries(session, school_id):
        report.entries += 1
        seq = row["seq"]
        if seq is None:
            # A seq that is not a number cannot be placed: report it where it was read.
            seq = expected_seq
        # Step 4: seqs run 0, 1, 2, ... without a gap.
        elif seq != expected_seq:
            report.add(
                f"entries {expected_seq} to {seq - 1} are missing (deleted)"
                if seq > expected_seq
                else f"entry {seq} is stored twice",
                seq=min(seq, expected_seq),
            )
        expected_seq = seq + 1
        for problem in row.problems:
            report.add(f"entry was altered in the database: {problem}", seq=seq)
        # Step 5: the bytes are a canonical entry of this school that names its own seq.
        if row["canonical"] is not None:
            _check_entry_bytes(row, seq, school_id, report)
        # Step 6: the stored leaf hash is the hash of the stored bytes.
        leaf = _leaf(row)
        if row["canonical"] is not None and row["leaf_hash"] != leaf:
            report.add("entry bytes were altered: they no longer match the leaf hash", seq=seq)
        frontier.append(leaf)
        if frontier.size in sizes:
            roots[frontier.size] = frontier.root()
        # Step 7: the stored frontier is the recomputed one (reported once, at the first).
        if not frontier_reported and row["frontier"] != frontier.to_bytes():
            frontier_reported = True
            report.add("the frontier stored with this entry differs from the recomputed tree", seq)
    return frontier, roots


def _leaf(row: StoredRow) -> bytes:
    """Return the leaf hash of the stored bytes, or, without them, the stored leaf hash."""
    if row["canonical"] is not None:
        return hash_leaf(row["canonical"])
    stored = row["leaf_hash"]
    # Keep the tree the right size so later entries and checkpoints are still checked.
    return stored if stored is not None and len(stored) == HASH_SIZE else bytes(HASH_SIZE)


def _check_entry_bytes(row: StoredRow, seq: int, school_id: int, report: VerifyReport) -> None:
    """Step 5: the stored bytes parse as this school's entry at this seq, matching the columns."""
    try:
        entry = parse_entry(row["canonical"])
    except ValidationError as exc:
        report.add(f"entry bytes were altered: {exc}", seq=seq)
        return
    if entry["seq"] != seq:
        report.add(
            f"the entry stored at seq {seq} says seq {entry['seq']} (entries reordered or moved)",
            seq=min(seq, entry["seq"]),
        )
    if entry["school"] != school_id:
        report.add(f"the entry belongs to school {entry['school']}", seq=seq)
    columns = (row["event"], row["object_type"], row["object_id"], row["recorded_at"])
    stated = (
        entry["event"],
        entry["object"]["type"],
        entry["object"]["id"],
        parse_time(entry["time"]),
    )
    if columns != stated:
        report.add("the query columns differ from the entry bytes", seq=seq)


def verify_log(
    session: Session, school_id: int, public_keys: PublicKeys, *, log_id: str | None = None
) -> VerifyReport:
    """Recompute the school's log and check every checkpoint; report what is wrong and where."""
    report = VerifyReport(school_id=school_id, log=log_id or log_id_for(school_id))
    checkpoints = _check_checkpoints(session, school_id, report, public_keys)
    frontier, roots = _check_entries(
        session, school_id, report, {c.statement.size for c in checkpoints}
    )
    report.root = frontier.root()
    # Step 8: the head row agrees with the recomputed log.
    head = stored_head(session, school_id)
    if head is not None and head.problems:
        report.add("the head row was damaged: " + "; ".join(head.problems))
        head = None
    report.head_size = head["size"] if head else 0
    if report.head_size > frontier.size:
        report.add(
            f"the log was truncated: the head records {report.head_size} entries, "
            f"{frontier.size} remain",
            seq=frontier.size,
        )
    elif report.head_size < frontier.size:
        report.add(f"entries were added behind the head ({report.head_size})", report.head_size)
    elif head is not None and head["root"] != report.root:
        report.add("the head's root differs from the recomputed root")
    # Step 9: each valid checkpoint's root is the recomputed root at its size.
    good_sizes = [0]
    for checked in sorted(checkpoints, key=lambda c: c.statement.size):
        size = checked.statement.size
        if size > frontier.size:
            report.add(
                f"the log was truncated: this checkpoint covers {size} entries, "
                f"{frontier.size} remain",
                seq=frontier.size,
                checkpoint_id=checked.row_id,
            )
        elif roots[size] != checked.statement.root:
            since = max(good_sizes)
            report.add(
                f"the log does not match this checkpoint (size {size}): an entry from seq "
                f"{since} to {size - 1} was changed, removed or reordered",
                seq=since,
                checkpoint_id=checked.row_id,
                last_seq=size - 1,
            )
        else:
            good_sizes.append(size)
    return report
