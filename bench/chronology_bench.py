"""Benchmark the chronology PDF: ours (tagged, canvas-level) against plain Platypus, and scaling.

    .venv/bin/python bench/chronology_bench.py                   # 300 incidents; 300/1000/3000
    .venv/bin/python bench/chronology_bench.py --sizes 300 1000  # a shorter scaling run
    .venv/bin/python bench/chronology_bench.py --profile         # and where the time goes
    .venv/bin/python bench/chronology_bench.py --quick           # 3 repeats, 300 and 1000

Ours is `render_chronology_pdf`: text laid out on the canvas (pdf_flow), marked content and
the structure tree (pdf_tree), outline, "Page N of M". The baseline, timed in the same run and
interleaved with ours, is the same text (the same paragraphs, label/value tables, styles and
embedded fonts) laid out by plain ReportLab Platypus: Paragraph, Table and KeepTogether, no
tags, no outline, "Page N" footers. Each scaling size runs both in fresh child processes and
reports time per incident and peak RSS. Content is fictional.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from exchange.packaging._pdfkit import fonts, styles, text, when
from exchange.packaging.chronology_pdf import render_chronology_pdf
from exchange.packaging.content import Chronology, Incident
from exchange.packaging.samples import fictional_chronology

TARGET_SECONDS = 0.5
TARGET_RATIO = 1.3
SIZES = [300, 1000, 3000]


def _table(rows: list[tuple[str, str]], label_width: float) -> Table:
    body = styles()["body"]
    cells = [[Paragraph(f"<b>{text(k)}</b>", body), Paragraph(text(v), body)] for k, v in rows]
    table = Table(cells, colWidths=(label_width, None), hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _incident(incident: Incident, number: int) -> list[Flowable]:
    sheet = styles()
    categories = incident.category
    if incident.subcategories:
        categories += " — " + ", ".join(incident.subcategories)
    rows = [
        ("Reference", incident.ref),
        ("Happened", when(incident.occurred_at)),
        ("Recorded", when(incident.recorded_at)),
        ("Category", categories),
        ("Status", incident.status),
        ("Recorded by", incident.author or "not recorded"),
    ]
    if incident.agencies:
        rows.append(("Agencies", ", ".join(incident.agencies)))
    if incident.body_map:
        rows.append(("Body map", "a body map is part of this record"))
    title = f"{number}. {when(incident.occurred_at)}: {incident.category}"
    parts: list[Flowable] = [
        Paragraph(text(title), sheet["h2"]),
        _table(rows, 30 * mm),
        Spacer(1, 2 * mm),
        Paragraph("<b>Narrative</b>", sheet["body"]),
        Paragraph(text(incident.narrative) or "(empty)", sheet["body"]),
    ]
    if incident.actions:
        parts.append(Paragraph("<b>Actions</b>", sheet["body"]))
        for action in sorted(incident.actions, key=lambda a: a.taken_at):
            line = f"{text(when(action.taken_at))}, {text(action.author)}: {text(action.text)}"
            parts.append(Paragraph(line, sheet["body"], bulletText="•"))
    if incident.edits:
        parts.append(Paragraph("<b>Edit marks</b>", sheet["meta"]))
        for edit in sorted(incident.edits, key=lambda e: e.edited_at):
            note = f"[edited {text(when(edit.edited_at))} by {text(edit.editor)}] {text(edit.note)}"
            parts.append(Paragraph(note, sheet["meta"]))
    parts.append(Spacer(1, 5 * mm))
    return [KeepTogether(parts[:3]), *parts[3:]]


def _story(chronology: Chronology) -> Iterator[Flowable]:
    """The chronology as the Platypus story it was before: same text, tables and styles."""
    sheet = styles()
    redaction, pupil = chronology.redaction, chronology.pupil
    yield Paragraph("Child protection file: chronology", sheet["title"])
    yield Spacer(1, 4 * mm)
    yield Paragraph(
        "Confidential. This file is part of a child protection record transferred under "
        "Keeping Children Safe in Education. Keep it separately from the main pupil file.",
        sheet["meta"],
    )
    yield Spacer(1, 6 * mm)
    yield _table(
        [
            ("Sending school", f"{chronology.sender.name} (URN {chronology.sender.urn})"),
            ("Receiving school", f"{chronology.recipient.name} (URN {chronology.recipient.urn})"),
            ("Pupil", pupil.display_name),
            ("Date of birth", when(pupil.date_of_birth)),
            ("UPN", pupil.upn or "not recorded"),
            ("Year group", pupil.year_group or "not recorded"),
            ("Transfer id", chronology.transfer_id),
            ("Authorised by", chronology.authorised_by),
            ("Authorised at", when(chronology.authorised_at)),
            ("Generated at", when(chronology.generated_at)),
            ("Incidents", str(len(chronology.incidents))),
            ("Documents", str(len(chronology.documents))),
        ],
        45 * mm,
    )
    yield Spacer(1, 6 * mm)
    yield Paragraph(
        f"Redaction: {redaction.names_replaced} mentions of {redaction.people_pseudonymised} "
        f"other people were replaced; {redaction.pdf_text_removals} passages were removed from "
        f"documents; {redaction.flags_resolved} review flags were resolved by the DSL.",
        sheet["meta"],
    )
    yield PageBreak()
    yield Paragraph("Incidents in time order", sheet["h1"])
    for number, incident in enumerate(chronology.in_time_order(), start=1):
        yield from _incident(incident, number)
    yield PageBreak()
    yield Paragraph("DSL conversation summary", sheet["h1"])
    conversation = chronology.conversation
    if conversation is not None:
        yield _table(
            [
                ("Held", when(conversation.held_at)),
                ("Participants", ", ".join(conversation.participants)),
                ("Recorded by", conversation.recorded_by or "not recorded"),
            ],
            30 * mm,
        )
        yield Spacer(1, 2 * mm)
        yield Paragraph(text(conversation.summary), sheet["body"])
    yield Spacer(1, 8 * mm)
    yield Paragraph("Attached documents", sheet["h1"])
    for document in chronology.documents:
        entry = (
            f"<b>{text(document.name)}</b>: {text(document.title)} "
            f"({text(when(document.document_date))}, {document.size:,} bytes)"
        )
        yield KeepTogether(
            [
                Paragraph(entry, sheet["body"]),
                Paragraph(f"SHA-256 {document.sha256}", sheet["mono"]),
                Spacer(1, 2 * mm),
            ]
        )


def render_plain(chronology: Chronology) -> bytes:
    """Lay out the same text with plain Platypus: the baseline."""
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
    doc.build(list(_story(chronology)))
    return buffer.getvalue()


RENDERERS: dict[str, Callable[[Chronology], bytes]] = {
    "ours": render_chronology_pdf,
    "plain": render_plain,
}


def _pages(data: bytes) -> int:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


def compare(incidents: int, repeat: int) -> None:
    """Time ours and the baseline alternately; print best and median of each and the ratio."""
    chronology = fictional_chronology(incidents)
    for render in RENDERERS.values():  # Fonts and caches, as a running service has them.
        render(fictional_chronology(3))
    times: dict[str, list[float]] = {"ours": [], "plain": []}
    cpu: dict[str, list[float]] = {"ours": [], "plain": []}
    outputs = {}
    for _ in range(repeat):
        for name, render in RENDERERS.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            outputs[name] = render(chronology)
            times[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    best = {name: min(values) for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in times.items()}
    best_cpu = {name: min(values) for name, values in cpu.items()}
    print(f"== chronology PDF, {incidents} incidents (best / median of {repeat}, alternating)")
    for name, label in (("ours", "ours (tagged)"), ("plain", "plain Platypus")):
        data = outputs[name]
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
    """Time the stages of ours: layout and drawing, ReportLab's file, the structure tree."""
    from reportlab.pdfbase.pdfdoc import PDFDocument

    from exchange.packaging import pdf_tree

    chronology = fictional_chronology(incidents)
    found: dict[str, list[float]] = {}
    marks: dict[str, float] = {}
    real_data, real_append = PDFDocument.GetPDFData, pdf_tree.append_tree

    def get_data(document: PDFDocument, canvas: Any) -> bytes:
        marks["file"] = time.perf_counter()
        return real_data(document, canvas)

    def append(*args: Any) -> bytes:
        marks["tree"] = time.perf_counter()
        return real_append(*args)

    PDFDocument.GetPDFData = get_data  # type: ignore[method-assign]
    pdf_tree.append_tree = append  # type: ignore[assignment]
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            render_chronology_pdf(chronology)
            ended = time.perf_counter()
            for name, seconds in (
                ("layout, drawing, page streams", marks["file"] - started),
                ("ReportLab file (fonts, objects)", marks["tree"] - marks["file"]),
                ("structure tree update", ended - marks["tree"]),
            ):
                found.setdefault(name, []).append(seconds)
    finally:
        PDFDocument.GetPDFData = real_data  # type: ignore[method-assign]
        pdf_tree.append_tree = real_append
    print(f"stages of ours (best of {repeat}, wall):")
    for name, values in found.items():
        print(f"  {name:<32} {min(values):.3f} s")


def _peak_rss_mib() -> float:
    """Return this process's peak resident memory (VmHWM, MiB) since its exec.

    Not ru_maxrss: Linux carries that over from the parent across fork and exec.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(which: str, incidents: int, trace: bool) -> dict[str, float]:
    """Render once in this fresh process; return time and memory."""
    render = RENDERERS[which]
    render(fictional_chronology(3))
    chronology = fictional_chronology(incidents)
    before = _peak_rss_mib()
    if trace:
        tracemalloc.start()
    started, started_cpu = time.perf_counter(), time.process_time()
    data = render(chronology)
    seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    result = {"seconds": seconds, "cpu": cpu, "bytes": len(data), "rss_before": before}
    if trace:
        result["traced_peak"] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    result["rss_peak"] = _peak_rss_mib()
    return result


def scaling(sizes: list[int], trace: bool) -> None:
    """Run each size, ours and the baseline, each in a fresh process; print time and memory."""
    print("scaling (each run in a fresh process; RSS in MiB, before = after warm-up):")
    print(
        f"{'incidents':>9} {'renderer':>8} {'wall s':>8} {'CPU s':>7} {'CPU ms/incident':>15} "
        f"{'KiB':>7} "
        f"{'RSS before':>10} {'RSS peak':>9}" + (f" {'traced MiB':>10}" if trace else "")
    )
    for incidents in sizes:
        for which in RENDERERS:
            run = _child(which, incidents, trace=False)
            line = (
                f"{incidents:>9} {which:>8} {run['seconds']:>8.3f} {run['cpu']:>7.3f} "
                f"{1000 * run['cpu'] / incidents:>15.2f} {run['bytes'] / 1024:>7.0f} "
                f"{run['rss_before']:>10.1f} {run['rss_peak']:>9.1f}"
            )
            if trace and which == "ours":
                line += f" {_child(which, incidents, trace=True)['traced_peak']:>10.1f}"
            print(line, flush=True)


def _child(which: str, incidents: int, trace: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--measure", str(incidents), "--renderer", which]
    output = subprocess.run(
        command + (["--trace"] if trace else []), capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def profile(incidents: int) -> None:
    """Print the functions where rendering spends its time (cProfile)."""
    chronology = fictional_chronology(incidents)
    render_chronology_pdf(fictional_chronology(3))
    profiler = cProfile.Profile()
    profiler.enable()
    render_chronology_pdf(chronology)
    profiler.disable()
    print(f"cProfile of ours, {incidents} incidents (own time, top 20):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(20)


def main() -> None:
    """Compare with the baseline, time the stages, and measure scaling."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=SIZES)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of ours")
    parser.add_argument("--trace", action="store_true", help="also a tracemalloc run (slow)")
    parser.add_argument("--quick", action="store_true", help="3 repeats; sizes 300 and 1000")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--renderer", choices=sorted(RENDERERS), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.quick:
        options.repeat, options.sizes = 3, [300, 1000]
    if options.measure:
        print(json.dumps(measure(options.renderer, options.measure, options.trace)))
        return
    compare(options.incidents, options.repeat)
    stages(options.incidents, options.repeat)
    if options.sizes:
        scaling(options.sizes, options.trace)
    if options.profile:
        profile(options.incidents)


if __name__ == "__main__":
    main()
