"""Render the chronology PDF: cover page, incidents in time order, conversation, documents.

The PDF has real, extractable text in embedded TrueType fonts (with ToUnicode maps), a
document title shown in the window, the language set to en-GB, page numbers and an outline
(bookmarks) for every section and incident. It is a tagged PDF: headings (H1 to H3),
paragraphs, lists and tables (TR, TH, TD) are structure elements in reading order, and the
page footers and table rules are artifacts (see pdf_structure and pdf_tagging).

Text is laid out straight on the canvas (pdf_flow), not by Platypus: narratives are shown
exactly as written, never read as markup, and time and memory grow with the page count only.
"""

from __future__ import annotations

from typing import BinaryIO

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from exchange.packaging._pdfkit import LANGUAGE, fonts, when
from exchange.packaging.content import Chronology, Conversation, DocumentEntry, Incident
from exchange.packaging.pdf_flow import Flow, Style, break_lines, row_height
from exchange.packaging.pdf_tree import CompactRecorder, TaggedCanvas

_MARGINS = (18 * mm, 18 * mm, 18 * mm, 20 * mm)  # left, right, top, bottom
_PADDING = 6.0  # inside the margins, as a Platypus frame
_BULLET_INDENT = 12.0


class _Sheet:
    """The styles, widths and the flow of one rendering."""

    def __init__(self, flow: Flow) -> None:
        regular, bold, mono = fonts()
        self.flow = flow
        self.body = Style(regular, 10, 14)
        self.label = Style(bold, 10, 14)
        self.title = Style(bold, 20, 26)
        self.h1 = Style(bold, 15, 20)
        self.h2 = Style(bold, 12, 16)
        self.mono = Style(mono, 7.5, 9.5)
        self.meta = Style(regular, 9, 12, "0.2 g")
        self.meta_label = Style(bold, 9, 12, "0.2 g")

    def lines(self, text: str, style: Style, indent: float = 0.0) -> list[str]:
        """Break text for the full width (less an indent)."""
        return break_lines(text, style, self.flow.width - indent)

    def paragraph(self, text: str, style: Style) -> None:
        """Draw a paragraph (P) of plain text."""
        self.flow.paragraph(self.lines(text, style), style)

    def heading(self, text: str, style: Style, role: str, level: int, key: str) -> None:
        """Draw a heading, bookmark it and add it to the outline."""
        lines = self.lines(text, style)
        self.flow.keep(len(lines) * style.leading)
        self.flow.paragraph(lines, style, role)
        canvas = self.flow.canvas
        canvas.bookmarkPage(key)
        canvas.addOutlineEntry(text, key, level=level)

    def table_rows(
        self, rows: list[tuple[str, str]], label_width: float
    ) -> list[tuple[list[str], list[str]]]:
        """Break each label and value for its column."""
        cell = 2 * 6.0
        value_width = self.flow.width - label_width - cell
        return [
            (
                break_lines(label, self.label, label_width - cell),
                break_lines(value, self.body, value_width),
            )
            for label, value in rows
        ]

    def table(self, rows: list[tuple[list[str], list[str]]], label_width: float) -> None:
        """Draw broken label/value rows."""
        self.flow.table(rows, label_width, self.label, self.body)

    def height(self, rows: list[tuple[list[str], list[str]]]) -> float:
        """Return the height of broken label/value rows."""
        return sum(row_height(label, value, self.label, self.body) for label, value in rows)


def render_chronology_pdf(chronology: Chronology, target: BinaryIO | None = None) -> bytes:
    """Return (and write to target, if given) the chronology as PDF bytes."""
    recorder = CompactRecorder()
    canvas = TaggedCanvas(
        None,
        pagesize=A4,
        invariant=1,
        lang=LANGUAGE,
        pdfVersion=(1, 5),
        initialFontName=fonts()[0],  # no unembedded Helvetica
    )
    canvas.footer_left = f"Confidential: child protection. Transfer {chronology.transfer_id}"
    canvas.setTitle(f"Safeguarding chronology, transfer {chronology.transfer_id}")
    canvas.setAuthor(chronology.sender.name)
    canvas.setSubject("Child protection file transfer: chronology")
    canvas.setCreator("safeguarding-exchange")
    canvas.setViewerPreference("DisplayDocTitle", "true")
    left, right, top, bottom = _MARGINS
    width, height = A4
    frame = (
        left + _PADDING,
        bottom + _PADDING,
        width - left - right - 2 * _PADDING,
        height - top - _PADDING,
    )
    sheet = _Sheet(Flow(canvas, recorder, frame))
    _draw(chronology, sheet)
    data = canvas.tagged_pdf(recorder)
    if target is not None:
        target.write(data)
    return data


def _draw(chronology: Chronology, sheet: _Sheet) -> None:
    """Draw every part in reading order."""
    flow = sheet.flow
    _cover(chronology, sheet)
    flow.new_page()
    sheet.heading("Incidents in time order", sheet.h1, "H2", 0, "incidents")
    incidents = chronology.in_time_order()
    if not incidents:
        sheet.paragraph("No incidents are included in this transfer.", sheet.body)
    for number, incident in enumerate(incidents, start=1):
        _incident(incident, number, sheet)
    flow.new_page()
    _conversation(chronology.conversation, sheet)
    flow.space(8 * mm)
    _documents(chronology.documents, sheet)


def _cover(chronology: Chronology, sheet: _Sheet) -> None:
    pupil = chronology.pupil
    rows = [
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
    ]
    redaction = chronology.redaction
    flow = sheet.flow
    sheet.heading("Child protection file: chronology", sheet.title, "H1", 0, "cover")
    flow.space(4 * mm)
    sheet.paragraph(
        "Confidential. This file is part of a child protection record transferred under "
        "Keeping Children Safe in Education. Keep it separately from the main pupil file.",
        sheet.meta,
    )
    flow.space(6 * mm)
    sheet.table(sheet.table_rows(rows, 45 * mm), 45 * mm)
    flow.space(6 * mm)
    sheet.paragraph(
        f"Redaction: {redaction.names_replaced} mentions of "
        f"{redaction.people_pseudonymised} other people were replaced; "
        f"{redaction.pdf_text_removals} passages were removed from documents; "
        f"{redaction.flags_resolved} review flags were resolved by the DSL.",
        sheet.meta,
    )


def _incident(incident: Incident, number: int, sheet: _Sheet) -> None:
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
    flow, body = sheet.flow, sheet.body
    title = f"{number}. {when(incident.occurred_at)}: {incident.category}"
    heading = sheet.lines(title, sheet.h2)
    table = sheet.table_rows(rows, 30 * mm)
    flow.keep(len(heading) * sheet.h2.leading + sheet.height(table) + 2 * mm)
    sheet.heading(title, sheet.h2, "H3", 1, f"incident-{number}")
    sheet.table(table, 30 * mm)
    flow.space(2 * mm)
    narrative = sheet.lines(incident.narrative or "(empty)", body)
    flow.keep(sheet.label.leading + min(len(narrative), 2) * body.leading)  # no lone label
    sheet.paragraph("Narrative", sheet.label)
    flow.paragraph(narrative, body)
    if incident.actions:
        flow.keep(sheet.label.leading + body.leading)
        sheet.paragraph("Actions", sheet.label)
        flow.recorder.open("L")
        for action in sorted(incident.actions, key=lambda a: a.taken_at):
            text = f"{when(action.taken_at)}, {action.author}: {action.text}"
            lines = sheet.lines(text, body, _BULLET_INDENT)
            flow.bullet_item(lines, body, "•", _BULLET_INDENT)
        flow.recorder.close()
    if incident.edits:
        sheet.paragraph("Edit marks", sheet.meta_label)
        for edit in sorted(incident.edits, key=lambda e: e.edited_at):
            sheet.paragraph(
                f"[edited {when(edit.edited_at)} by {edit.editor}] {edit.note}", sheet.meta
            )
    flow.space(5 * mm)


def _conversation(conversation: Conversation | None, sheet: _Sheet) -> None:
    sheet.heading("DSL conversation summary", sheet.h1, "H2", 0, "conversation")
    if conversation is None:
        sheet.paragraph("No DSL conversation was recorded.", sheet.body)
        return
    rows = [
        ("Held", when(conversation.held_at)),
        ("Participants", ", ".join(conversation.participants)),
        ("Recorded by", conversation.recorded_by or "not recorded"),
    ]
    sheet.table(sheet.table_rows(rows, 30 * mm), 30 * mm)
    sheet.flow.space(2 * mm)
    sheet.paragraph(conversation.summary, sheet.body)


def _documents(documents: tuple[DocumentEntry, ...], sheet: _Sheet) -> None:
    flow = sheet.flow
    sheet.heading("Attached documents", sheet.h1, "H2", 0, "documents")
    if not documents:
        sheet.paragraph("No documents are attached.", sheet.body)
        return
    sheet.paragraph(
        f"{len(documents)} documents travel with this file. Each SHA-256 below is the "
        "fingerprint of the exact bytes sent.",
        sheet.body,
    )
    for document in documents:
        entry = sheet.lines(
            f"{document.name}: {document.title} "
            f"({when(document.document_date)}, {document.size:,} bytes)",
            sheet.body,
        )
        digest = sheet.lines(f"SHA-256 {document.sha256}", sheet.mono)
        flow.keep(len(entry) * sheet.body.leading + len(digest) * sheet.mono.leading)
        flow.paragraph(entry, sheet.body)
        flow.paragraph(digest, sheet.mono)
        flow.space(2 * mm)
