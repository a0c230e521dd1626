"""Render a disposal certificate as a PDF for the DPO: counts, references, signature details."""

from __future__ import annotations

import hashlib
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from exchange.packaging._pdfkit import DocTemplate, Heading, styles, text
from exchange.packaging.pdf_structure import TableTagger, TaggedParagraph


def _table(rows: list[list[str]], widths: list[float]) -> Table:
    sheet = styles()
    cells = [[TaggedParagraph(text(str(cell)), sheet["body"]) for cell in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1, renderCB=TableTagger(header_rows=1))
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _counts(title: str, values: dict[str, int]) -> list[Flowable]:
    sheet = styles()
    key = "counts-" + "".join(c for c in title.lower() if c.isalnum())
    story: list[Flowable] = [Heading(title, sheet["h2"], 0, key), Spacer(1, 2 * mm)]
    if not values:
        return [*story, TaggedParagraph("None.", sheet["body"]), Spacer(1, 4 * mm)]
    rows = [["", "Count"], *[[name, str(count)] for name, count in values.items()]]
    return [*story, _table(rows, [130 * mm, 30 * mm]), Spacer(1, 4 * mm)]


def render_certificate_pdf(payload: dict[str, Any], token: str) -> bytes:
    """Return the PDF of a verified certificate payload and its JWS."""
    sheet = styles()
    doc = DocTemplate(
        title=f"Disposal certificate, run {payload['run']}",
        footer=f"Disposal certificate, school URN {payload['school']['urn']}, run {payload['run']}",
        subject="Retention: certificate of disposal",
    )
    facts = [
        ["Fact", "Value"],
        ["School URN / LAESTAB", f"{payload['school']['urn']} / {payload['school']['laestab']}"],
        ["Purge as of (Europe/London)", payload["as_of"]],
        ["Started", payload["started_at"]],
        ["Certificate issued", payload["issued_at"]],
        ["Rule set version", str(payload["rule_set_version"])],
        ["Signing key id", payload["signing_key_id"]],
        ["SHA-256 of the JWS", hashlib.sha256(token.encode("ascii")).hexdigest()],
    ]
    pupils = [["Pupil reference", "Incidents", "Documents", "Whole file"]] + [
        [p["ref"], str(p["incidents"]), str(p["documents"]), "yes" if p["whole_file"] else "no"]
        for p in payload["pupils"]
    ]
    story: list[Flowable] = [
        Heading("Certificate of disposal", sheet["title"], 0, "certificate"),
        Spacer(1, 4 * mm),
        TaggedParagraph(
            "The records counted below reached the end of their retention period, were not under "
            "a legal hold, and were destroyed: database rows, files and, where nothing of a pupil "
            "remained, the pupil's data key. Pupils are named only by a reference that cannot be "
            "reversed without the school's secret.",
            sheet["body"],
        ),
        Spacer(1, 4 * mm),
        _table(facts, [60 * mm, 110 * mm]),
        Spacer(1, 6 * mm),
        *_counts("Totals", payload["totals"]),
        *_counts("Rules applied (records)", payload["rules"]),
        *_counts("Incidents by category", payload["incidents_by_category"]),
        *_counts("Documents by type", payload["documents_by_type"]),
        Heading("Pupils", sheet["h2"], 0, "pupils"),
        Spacer(1, 2 * mm),
        _table(pupils, [100 * mm, 22 * mm, 24 * mm, 24 * mm]),
        Spacer(1, 4 * mm),
        TaggedParagraph(text(f"Reference scheme: {payload['pupil_ref_scheme']}"), sheet["small"]),
        Spacer(1, 4 * mm),
        Heading("Signed certificate (compact JWS)", sheet["h2"], 0, "jws"),
        TaggedParagraph(
            "\n".join(text(token[i : i + 90]) for i in range(0, len(token), 90)).replace(
                "\n", "<br/>"
            ),
            sheet["mono"],
        ),
    ]
    return doc.render(story)
