"""Run every benchmark in bench/, one after another, and keep what each printed.

Usage: `python bench/run_all.py [--only NAME ...] [--skip NAME ...] [--out FILE]`.
Each benchmark prints its own figures beside the baseline it measured in the same run;
this runs them in turn (never in parallel, so they do not skew each other), prints the
machine they ran on, and writes everything to --out as well (bench-results.txt by default).
Extra arguments for one benchmark go after `--`, as NAME:ARG (e.g. `-- purge_bench:--quick`).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# Cheapest first, so a broken environment shows up early.
ORDER = (
    "cli_start_bench",
    "audit_append",
    "audit_explorer_bench",
    "sealing_bench",
    "redaction_bench",
    "bundle_bench",
    "bundle_scale_bench",
    "chronology_bench",
    "whole_file_bench",
    "batch_import_bench",
    "purge_bench",
    "api_load",
    "september_bench",
)

# Benchmarks that take --quick (smaller inputs), passed on by `run_all.py --quick`.
QUICK = ("redaction_bench", "whole_file_bench", "chronology_bench")


def benchmarks() -> list[str]:
    """Return the benchmark names in bench/, in running order."""
    found = {path.stem for path in BENCH.glob("*.py") if path.stem != "run_all"}
    known = [name for name in ORDER if name in found]
    return known + sorted(found - set(known))


def machine() -> str:
    """Describe the machine: CPUs, CPU model, memory, Python and OS."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    return (
        f"machine: {os.cpu_count()} CPUs ({model}), {memory} memory, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def extra_arguments(pairs: list[str]) -> dict[str, list[str]]:
    """Group NAME:ARG pairs by benchmark name."""
    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        name, _, argument = pair.partition(":")
        grouped.setdefault(name, []).append(argument)
    return grouped


def run(name: str, arguments: list[str], out: object) -> tuple[int, float]:
    """Run one benchmark, echoing and recording its output; return its exit code and time."""
    header = f"\n=== {name} {' '.join(arguments)}".rstrip()
    print(header, flush=True)
    print(header, file=out, flush=True)  # type: ignore[call-overload]
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(BENCH / f"{name}.py"), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=BENCH.parent,
    )
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        print(line, end="", file=out, flush=True)  # type: ignore[call-overload]
    return process.wait(), time.monotonic() - started


def main() -> int:
    """Run the chosen benchmarks and summarise which passed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", default=[], help="run only these benchmarks")
    parser.add_argument("--skip", nargs="*", default=[], help="leave these out")
    parser.add_argument("--out", type=Path, default=Path("bench-results.txt"))
    parser.add_argument(
        "--quick", action="store_true", help="smaller runs where a benchmark offers --quick"
    )
    parser.add_argument("extra", nargs="*", help="NAME:ARG pairs after --")
    options = parser.parse_args()
    chosen = [
        name
        for name in benchmarks()
        if (not options.only or name in options.only) and name not in options.skip
    ]
    extras = extra_arguments(options.extra)
    for name in QUICK if options.quick else ():
        extras.setdefault(name, []).append("--quick")
    outcomes = []
    with options.out.open("w") as out:
        print(machine(), flush=True)
        print(machine(), file=out, flush=True)
        for name in chosen:
            code, seconds = run(name, extras.get(name, []), out)
            outcomes.append((name, code, seconds))
        print("\n=== summary", file=out)
        print("\n=== summary")
        for name, code, seconds in outcomes:
            line = f"{name:<18} {'ok' if code == 0 else f'FAILED ({code})':<12} {seconds:7.1f} s"
            print(line)
            print(line, file=out)
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
