"""Run the fuzzers for longer: the hypothesis tests with more, random examples, then atheris.

    .venv/bin/python fuzz/run_long.py                 # scale 20, 200k atheris runs per target
    .venv/bin/python fuzz/run_long.py --scale 100 --atheris-runs 2000000

New crashes: hypothesis prints the failing input; atheris writes crash-* files here. Add each
to tests/fuzz/crashers/ with an xfail(strict=True) regression test in test_regressions.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("ctf", "jws", "card")


def atheris_target(name: str, runs: int) -> int:
    """Fuzz one parser with atheris (coverage-guided) in this process; return 0 if no crash."""
    import atheris  # Not a dependency of the tests; install it to use this.

    with atheris.instrument_imports():
        from datetime import date

        from exchange import jws
        from exchange.errors import ExchangeError
        from exchange.packaging.keys import SigningKey
        from exchange.partners.card import SchoolCard
        from exchange.records.ctf import parse_ctf

    key = SigningKey.generate()

    def one(data: bytes) -> None:
        try:
            if name == "ctf":
                parse_ctf(data, date(2025, 7, 1))
            elif name == "jws":
                text = data.decode("latin-1")
                jws.unverified_payload(text)
                jws.verify(text, {key.key_id: key.public}, "sgx-offer+jws")
            else:
                import json

                SchoolCard.from_json(json.loads(data))
        except ExchangeError:
            pass
        except (ValueError, RecursionError):
            if name != "card":
                raise  # Only json.loads of random bytes, before our parser, may raise these.

    corpus = ROOT / "tests" / "fuzz" / "corpus" / name
    seeds = [str(corpus)] if corpus.is_dir() else []
    crashers = ROOT / "tests" / "fuzz" / "crashers" / name
    crashers.mkdir(parents=True, exist_ok=True)
    prefix = f"-artifact_prefix={crashers}/"
    atheris.Setup([sys.argv[0], f"-runs={runs}", prefix, *seeds], one)
    atheris.Fuzz()
    return 0


def main() -> int:
    """Run the long fuzz campaign."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=20, help="examples x this (random seeds)")
    parser.add_argument("--atheris-runs", type=int, default=200_000)
    parser.add_argument("--target", choices=TARGETS, help="run one atheris target (internal)")
    args = parser.parse_args()
    if args.target:
        return atheris_target(args.target, args.atheris_runs)
    env = {**os.environ, "SGX_FUZZ_SCALE": str(args.scale)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz"]
    status = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: hypothesis only", file=sys.stderr)
        return status
    for target in TARGETS:
        print(f"== atheris {target}: {args.atheris_runs} runs", flush=True)
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--target",
                target,
                "--atheris-runs",
                str(args.atheris_runs),
            ],
            cwd=Path(__file__).parent,
            check=False,
        )
        status = status or done.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
