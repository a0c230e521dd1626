"""Benchmark the chronology PDF: tagged (ours) against plain ReportLab, and how it scales.

    .venv/bin/python bench/chronology_bench.py                      # 300 incidents; 300/1000/3000
    .venv/bin/python bench/chronology_bench.py --sizes 300 1000     # a shorter scaling run
    .venv/bin/python bench/chronology_bench.py --profile            # and where the time goes
    .venv/bin/python bench/chronology_bench.py --quick              # 3 repeats, 300 and 1000

Ours is `render_chronology_pdf`: the tagged PDF (structure tree, outline, "Page N of M").
The baseline, timed in the same run and interleaved with ours, is the same story (the same
paragraphs, tables, styles and embedded fonts) laid out by plain ReportLab: plain Paragraph
and Table objects, no structure recording, no outline, a "Page N" footer, no pikepdf pass.
Each scaling size runs in a fresh process, once for time and peak RSS and once more under
tracemalloc for the peak of Python allocations. Content is fictional.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Table,
)

from exchange.packaging import chronology_pdf
from exchange.packaging._pdfkit import fonts
from exchange.packaging.chronology_pdf import render_chronology_pdf
from exchange.packaging.pdf_structure import StructureEnd, StructureStart, TaggedParagraph
from exchange.packaging.samples import fictional_chronology

TARGET_SECONDS = 0.5
TARGET_RATIO = 1.3


def _plain(flowable: Flowable) -> Flowable | None:
    """Return the flowable as plain ReportLab draws it: no tags, no shared layout."""
    if isinstance(flowable, StructureStart | StructureEnd):
        return None
    if isinstance(flowable, TaggedParagraph):
        return Paragraph(flowable.text, flowable.style, bulletText=flowable.bulletText)
    if isinstance(flowable, KeepTogether):
        return KeepTogether([p for f in flowable._content if (p := _plain(f)) is not None])
    if isinstance(flowable, Table):
        flowable._cellvalues = [[_plain(cell) for cell in row] for row in flowable._cellvalues]
        flowable._renderCB = None
    return flowable


def render_plain(chronology: Any) -> bytes:
    """Lay out the same story with plain ReportLab: the baseline."""
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        invariant=1,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=20 * mm,
    )

    def footer(canvas: Any, _doc: Any) -> None:
        canvas.setFont(fonts()[0], 8)
        canvas.drawString(18 * mm, 10 * mm, f"Transfer {chronology.transfer_id}")
        canvas.drawRightString(doc.pagesize[0] - 18 * mm, 10 * mm, f"Page {canvas._pageNumber}")

    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=footer)])
    story = [p for f in chronology_pdf._story(chronology) if (p := _plain(f)) is not None]
    doc.build(story)
    return buffer.getvalue()


def _pages(data: bytes) -> int:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


def compare(incidents: int, repeat: int) -> None:
    """Time ours and the baseline alternately; print best and median of each and the ratio."""
    chronology = fictional_chronology(incidents)
    render_chronology_pdf(fictional_chronology(3))  # Fonts and caches, as a running service has.
    render_plain(fictional_chronology(3))
    times: dict[str, list[float]] = {"ours": [], "plain": []}
    cpu: dict[str, list[float]] = {"ours": [], "plain": []}
    sizes = {}
    for _ in range(repeat):
        for name, render in (("ours", render_chronology_pdf), ("plain", render_plain)):
            started, started_cpu = time.perf_counter(), time.process_time()
            data = render(chronology)
            times[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
            sizes[name] = data
    best = {name: min(values) for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in times.items()}
    best_cpu = {name: min(values) for name, values in cpu.items()}
    print(f"== chronology PDF, {incidents} incidents (best / median of {repeat}, alternating)")
    for name, label in (("ours", "ours (tagged)"), ("plain", "plain ReportLab")):
        data = sizes[name]
        print(
            f"{label:<18} wall {best[name]:.3f} s / {median[name]:.3f} s, "
            f"CPU {best_cpu[name]:.3f} s   {_pages(data)} pages, {len(data) / 1024:.0f} KiB"
        )
    ratio = best["ours"] / best["plain"]
    print(
        f"ratio ours/plain: {ratio:.2f}x best wall, {median['ours'] / median['plain']:.2f}x "
        f"median, {best_cpu['ours'] / best_cpu['plain']:.2f}x CPU (target {TARGET_RATIO}x); "
        f"ours {best['ours']:.3f} s (target {TARGET_SECONDS} s)"
    )


def stages(incidents: int, repeat: int) -> None:
    """Time the stages of ours: building the story, layout and drawing, the structure tree."""
    from exchange.packaging import _pdfkit
    from exchange.packaging.pdf_structure import StructureRecorder
    from exchange.packaging.pdf_tagging import write_structure

    chronology = fictional_chronology(incidents)
    found: dict[str, list[float]] = {"story": [], "layout and drawing": [], "structure tree": []}
    for _ in range(repeat):
        t0 = time.perf_counter()
        story = list(chronology_pdf._story(chronology))
        t1 = time.perf_counter()
        doc = _pdfkit.DocTemplate(title="t", footer="f")
        recorder = StructureRecorder()

        class Numbered(_pdfkit._NumberedCanvas):
            footer_left = "f"
            structure = recorder

        doc.build(story, canvasmaker=Numbered)
        t2 = time.perf_counter()
        write_structure(doc._buffer.getvalue(), recorder)
        t3 = time.perf_counter()
        for name, seconds in zip(found, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            found[name].append(seconds)
    print(f"stages of ours (best of {repeat}):")
    for name, values in found.items():
        print(f"  {name:<20} {min(values):.3f} s")


def measure(incidents: int, trace: bool) -> dict[str, float]:
    """Render once in this fresh process; return time and memory."""
    render_chronology_pdf(fictional_chronology(3))
    chronology = fictional_chronology(incidents)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    data = render_chronology_pdf(chronology)
    seconds = time.perf_counter() - started
    result = {"seconds": seconds, "bytes": len(data), "rss_before": before}
    if trace:
        result["traced_peak"] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    result["rss_peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def scaling(sizes: list[int]) -> None:
    """Run each size in fresh processes; print time per incident and memory."""
    print("scaling (each in a fresh process; RSS in MiB; traced = tracemalloc peak, own run):")
    print(
        f"{'incidents':>9} {'seconds':>8} {'ms/incident':>11} {'KiB':>7} "
        f"{'RSS before':>10} {'RSS peak':>9} {'traced MiB':>10} {'traced/incident':>15}"
    )
    for incidents in sizes:
        runs = [_child(incidents, trace=False) for _ in range(2 if incidents <= 1000 else 1)]
        timed = min(runs, key=lambda run: run["seconds"])
        traced = _child(incidents, trace=True)
        print(
            f"{incidents:>9} {timed['seconds']:>8.3f} {1000 * timed['seconds'] / incidents:>11.2f} "
            f"{timed['bytes'] / 1024:>7.0f} {timed['rss_before']:>10.1f} {timed['rss_peak']:>9.1f} "
            f"{traced['traced_peak']:>10.1f} {1024 * traced['traced_peak'] / incidents:>12.1f} KiB"
        )


def _child(incidents: int, trace: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--measure", str(incidents)]
    output = subprocess.run(
        command + (["--trace"] if trace else []), capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def profile(incidents: int) -> None:
    """Print the functions where rendering spends its time (cProfile, own time)."""
    chronology = fictional_chronology(incidents)
    profiler = cProfile.Profile()
    profiler.enable()
    render_chronology_pdf(chronology)
    profiler.disable()
    print(f"cProfile of ours, {incidents} incidents (cumulative, top 25):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)


def main() -> None:
    """Compare with the baseline, time the stages, and measure scaling."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=[300, 1000, 3000])
    parser.add_argument("--profile", action="store_true", help="print a cProfile of ours")
    parser.add_argument("--quick", action="store_true", help="3 repeats; sizes 300 and 1000")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.quick:
        options.repeat, options.sizes = 3, [300, 1000]
    if options.measure:
        print(json.dumps(measure(options.measure, options.trace)))
        return
    compare(options.incidents, options.repeat)
    stages(options.incidents, options.repeat)
    if options.sizes:
        scaling(options.sizes)
    if options.profile:
        profile(options.incidents)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
