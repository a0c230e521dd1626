"""Measure how fast the `exchange` command starts, against `python -c pass` in the same run.

Run on demand: `python bench/cli_start_bench.py [--runs N]` (a few seconds). Each command is
a whole process, run N times round-robin with the others so a noisy neighbour hurts all
alike; wall time (best and median) and peak RSS (from GNU time, else os.wait4) are
printed beside the baseline. `transfers list` runs on an empty instance (one school, no
transfers) in a temp folder. Two floors run in the same rounds: `import sqlalchemy.orm` alone,
and a bare script that opens the instance and runs the listing's query without the CLI.
Then one extra run of each command under `python -X importtime` shows where the import time
goes: the largest top-level imports.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

TARGET_SECONDS = 0.3
TARGET_MIB = 60
EXCHANGE = Path(sys.executable).with_name("exchange")
# GNU time reports the child's own peak. Without it, wait4's figure also counts this
# process's memory, which the forked child held before it ran exec.
TIME = shutil.which("time", path="/usr/bin:/bin")
COMMANDS = (
    ("exchange --help", ["--help"]),
    ("exchange redact --help", ["redact", "--help"]),
    ("exchange transfers list", ["transfers", "list"]),
)
# What a command that reads the database cannot go below while it uses the SQLAlchemy ORM:
# the ORM alone, then the models and the same query in a bare script (no click, no CLI).
FLOORS = (
    ("floor: import sqlalchemy.orm", "import sqlalchemy.orm"),
    (
        "floor: models + one query",
        "from sqlalchemy import select\n"
        "from exchange.instance import open_instance\n"
        "from exchange.transfers.models import Transfer\n"
        "instance = open_instance()\n"
        "with instance.sessions() as session:\n"
        "    session.scalars(select(Transfer)).all()\n"
        "instance.close()",
    ),
)


@dataclass
class Runs:
    """The wall times (seconds) and peak RSS (MiB) of one command's runs."""

    label: str
    argv: list[str]
    seconds: list[float] = field(default_factory=list)
    mib: list[float] = field(default_factory=list)


def run_once(argv: list[str], env: dict[str, str], scratch: Path) -> tuple[float, float]:
    """Run argv as a whole process; return its wall time and peak RSS in MiB."""
    usage_file = scratch / "time.txt"
    wrapped = [TIME, "-f", "%M", "-o", str(usage_file), *argv] if TIME else argv
    started = time.perf_counter()
    process = subprocess.Popen(wrapped, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        assert process.stderr is not None
        raise SystemExit(f"{' '.join(argv)} failed: {process.stderr.read().decode()}")
    kib = int(usage_file.read_text().split()[-1]) if TIME else usage.ru_maxrss
    return elapsed, kib / 1024


def empty_instance(folder: Path) -> dict[str, str]:
    """Create an instance with one school and no transfers; return its environment."""
    env = {**os.environ, "EXCHANGE_HOME": str(folder / "home"), "EXCHANGE_LOG_LEVEL": "WARNING"}
    env.pop("EXCHANGE_SCHOOL", None)
    env.pop("EXCHANGE_DATABASE_URL", None)
    setup = (
        ["db", "upgrade"],
        ["schools", "add", "--urn", "990101", "--laestab", "9990101", "--name", "Bench School"],
    )
    for arguments in setup:
        subprocess.run([str(EXCHANGE), *arguments], env=env, check=True, capture_output=True)
    return env


def import_profile(arguments: list[str], env: dict[str, str], top: int) -> list[str]:
    """Return the largest top-level imports of one run, by cumulative microseconds."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(EXCHANGE), *arguments],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    entries = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if name.startswith("  "):
            continue  # Not top level: its time is inside its importer's.
        entries.append((int(cumulative), name.strip()))
    total = sum(micros for micros, _ in entries)
    largest = sorted(entries, reverse=True)[:top]
    lines = [f"    all imports {total / 1e6:6.3f} s"]
    lines += [f"    {micros / 1e6:6.3f} s  {name}" for micros, name in largest]
    return lines


def main() -> None:
    """Print each command's start-up time and memory beside `python -c pass`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="runs per command (default 7)")
    parser.add_argument("--top", type=int, default=6, help="imports to show per command")
    options = parser.parse_args()
    if not EXCHANGE.exists():
        raise SystemExit(f"no {EXCHANGE}: install the package (scripts/setup.sh)")
    with tempfile.TemporaryDirectory() as folder:
        env = empty_instance(Path(folder))
        baseline = Runs("python -c pass", [sys.executable, "-c", "pass"])
        measured = [Runs(label, [str(EXCHANGE), *arguments]) for label, arguments in COMMANDS]
        floors = [Runs(label, [sys.executable, "-c", code]) for label, code in FLOORS]
        for _ in range(options.runs):
            for runs in (baseline, *measured, *floors):
                seconds, mib = run_once(runs.argv, env, Path(folder))
                runs.seconds.append(seconds)
                runs.mib.append(mib)
        report(baseline, measured, floors, options.runs)
        print("where the import time goes (one run under -X importtime, largest top level):")
        for (label, arguments), _ in zip(COMMANDS, measured, strict=True):
            print(f"  {label}")
            print("\n".join(import_profile(arguments, env, options.top)))


def report(baseline: Runs, measured: list[Runs], floors: list[Runs], runs: int) -> None:
    """Print the table of figures, ratios to the baseline and the targets."""
    floor = min(baseline.seconds)
    print(f"{'command':<30} {'best':>8} {'median':>8} {'peak RSS':>10} {'x pass':>7}  target")
    for row in (baseline, *measured, *floors):
        best, median, mib = min(row.seconds), statistics.median(row.seconds), max(row.mib)
        verdict = ""
        if any(row is command for command in measured):
            fast = median < TARGET_SECONDS and mib < TARGET_MIB
            verdict = "ok" if fast else "MISSED"
        print(
            f"{row.label:<30} {best:7.3f}s {median:7.3f}s {mib:7.1f} MiB {best / floor:6.1f}x  "
            f"{verdict}"
        )
    print(
        f"{runs} runs each, round-robin; target: median under {TARGET_SECONDS} s "
        f"and peak RSS under {TARGET_MIB} MiB"
    )


if __name__ == "__main__":
    main()
