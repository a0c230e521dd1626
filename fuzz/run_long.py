"""Run the fuzzers for longer: the hypothesis tests with more, random examples, then atheris.

    .venv/bin/python fuzz/run_long.py                 # scale 20, 200k atheris runs per target
    .venv/bin/python fuzz/run_long.py --scale 100 --atheris-runs 2000000
    nice -n 19 .venv/bin/python fuzz/run_long.py --atheris-only --atheris-runs 1000000 \
        --max-seconds 600 --target jws --target card   # some parsers, each for at most 10 min

New crashes: hypothesis prints the failing input; atheris writes crash-* files into
tests/fuzz/crashers/<target>/. Add each with a regression test in test_regressions.py.
The inputs atheris finds interesting go to a scratch folder (printed), not the corpus.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from targets import TARGETS  # noqa: E402 (after the path it is found on)

INSTRUMENTED = ["exchange", "tests", "bundle_kit", "tarfile", "zipfile"]


def _where(error: BaseException) -> str:
    """Return the innermost frame of our code that the error passed through, as file:line."""
    import traceback

    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/exchange/" in f.filename]
    last = frames[-1] if frames else traceback.extract_tb(error.__traceback__)[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


def atheris_target(
    name: str, runs: int, max_seconds: int, keep_going: bool = False, shared: str = ""
) -> int:
    """Fuzz one parser with atheris (coverage-guided) in this process; return 0 if no crash.

    With keep_going, an exception that is not ExchangeError is recorded (its first input per
    type and place saved as crashers/<target>/keep-*) and the run goes on; a summary is printed
    at the end. Use it for a target whose callers already turn any exception into a refusal
    (process_pdf does), to list every place that refuses instead of stopping at the first.
    """
    import atheris  # Not a dependency of the tests; install it to use this.

    # The parsers are imported inside make_targets, so it runs under the instrumentation:
    # our code and the standard library's pure-Python archive readers, not every dependency.
    with atheris.instrument_imports(include=INSTRUMENTED):
        from targets import make_targets

        from exchange.errors import ExchangeError

        target = make_targets()[name]

    found: dict[str, int] = {}
    crashers = ROOT / "tests" / "fuzz" / "crashers" / name

    def one(data: bytes) -> None:
        try:
            target.run(data)
        except ExchangeError as error:
            if not str(error):
                raise AssertionError("an error must say what is wrong") from error
        except Exception as error:
            if not keep_going:
                raise
            signature = f"{type(error).__name__} at {_where(error)}"
            found[signature] = found.get(signature, 0) + 1
            if found[signature] == 1:
                import hashlib

                digest = hashlib.sha256(data).hexdigest()[:12]
                (crashers / f"keep-{type(error).__name__}-{digest}").write_bytes(data)
                print(f"== {name}: new exception {signature}", flush=True)

    if keep_going:
        import atexit

        def summary() -> None:
            print(f"== {name}: exceptions other than ExchangeError, by type and place:")
            for signature, count in sorted(found.items(), key=lambda item: -item[1]):
                print(f"   {count:>8}  {signature}")
            if not found:
                print("   none")

        atexit.register(summary)

    # A shared folder lets a second process fuzz the same target from the same corpus, as
    # libFuzzer's own -jobs does: each adds what it finds and reads what the other found.
    scratch = Path(shared) if shared else Path(tempfile.mkdtemp(prefix=f"sgx-fuzz-{name}-"))
    scratch.mkdir(parents=True, exist_ok=True)
    for index, seed in enumerate(target.seeds()):
        (scratch / f"seed-{index}").write_bytes(seed)
    corpus = ROOT / "tests" / "fuzz" / "corpus" / name
    seeds = [str(corpus)] if corpus.is_dir() else []
    prefix = f"-artifact_prefix={crashers}/"
    crashers.mkdir(parents=True, exist_ok=True)
    print(f"== {name}: new inputs go to {scratch}", flush=True)
    options = [f"-runs={runs}", prefix, "-max_len=65536", "-rss_limit_mb=2048"]
    if max_seconds:
        options.append(f"-max_total_time={max_seconds}")
    # The first folder receives what atheris finds; the corpus is only read.
    atheris.Setup([sys.argv[0], *options, str(scratch), *seeds], one)
    atheris.Fuzz()
    return 0


def main() -> int:
    """Run the long fuzz campaign."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=20, help="examples x this (random seeds)")
    parser.add_argument("--atheris-runs", type=int, default=200_000)
    parser.add_argument("--target", choices=TARGETS, action="append", help="only these")
    parser.add_argument("--max-seconds", type=int, default=0, help="per atheris target")
    parser.add_argument("--atheris-only", action="store_true", help="skip the hypothesis run")
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="record exceptions other than ExchangeError and go on (see atheris_target)",
    )
    parser.add_argument(
        "--shared-corpus",
        default="",
        help="the folder of a run of the same target to share (a second process on it)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return atheris_target(
            args.target[0],
            args.atheris_runs,
            args.max_seconds,
            keep_going=args.keep_going,
            shared=args.shared_corpus,
        )
    status = 0
    if not args.atheris_only:
        env = {**os.environ, "SGX_FUZZ_SCALE": str(args.scale)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz"]
        status = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: hypothesis only", file=sys.stderr)
        return status
    for target in args.target or TARGETS:
        print(f"== atheris {target}: {args.atheris_runs} runs", flush=True)
        command = [sys.executable, __file__, "--child", "--target", target]
        command += ["--atheris-runs", str(args.atheris_runs)]
        command += ["--max-seconds", str(args.max_seconds)]
        command += ["--keep-going"] if args.keep_going else []
        command += ["--shared-corpus", args.shared_corpus] if args.shared_corpus else []
        done = subprocess.run(command, cwd=Path(__file__).parent, check=False)
        status = status or done.returncode
        crashers = ROOT / "tests" / "fuzz" / "crashers" / target
        if crashers.is_dir() and not any(crashers.iterdir()):
            crashers.rmdir()  # Made for atheris' artifacts; nothing crashed.
    return status


if __name__ == "__main__":
    sys.exit(main())
