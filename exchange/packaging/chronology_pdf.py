"""Render the chronology PDF: cover page, incidents in time order, conversation, documents.

The PDF has real, extractable text in embedded TrueType fonts (with ToUnicode maps), a
document title shown in the window, the language set to en-GB, page numbers and an outline
(bookmarks) for every section and incident. It is a tagged PDF: headings (H1 to H3),
paragraphs and tables (TR, TH, TD) are structure elements in reading order, and the page
footers and table rules are artifacts (see pdf_structure and pdf_tagging).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Spacer,
    Table,
    TableStyle,
)

from exchange.packaging._pdfkit import (
    DocTemplate,
    Heading,
    label_value_cells,
    styles,
    text,
    when,
)
from exchange.packaging.content import Chronology, Conversation, DocumentEntry, Incident
from exchange.packaging.pdf_structure import (
    StructureEnd,
    StructureStart,
    TableTagger,
    TaggedParagraph,
)


def render_chronology_pdf(chronology: Chronology, target: BinaryIO | None = None) -> bytes:
    """Return (and write to target, if given) the chronology as PDF bytes."""
    doc = DocTemplate(
        title=f"Safeguarding chronology, transfer {chronology.transfer_id}",
        footer=f"Confidential: child protection. Transfer {chronology.transfer_id}",
        author=chronology.sender.name,
        subject="Child protection file transfer: chronology",
    )
    data = doc.render(_story(chronology))
    if target is not None:
        target.write(data)
    return data


def _story(chronology: Chronology) -> Iterator[Flowable]:
    """Yield the flowables in order, each incident's only when layout reaches it."""
    sheet = styles()
    yield from _cover(chronology)
    yield PageBreak()
    yield Heading("Incidents in time order", sheet["h1"], 0, "incidents")
    incidents = chronology.in_time_order()
    if not incidents:
        yield TaggedParagraph("No incidents are included in this transfer.", sheet["body"])
    for number, incident in enumerate(incidents, start=1):
        yield from _incident(incident, number)
    yield PageBreak()
    yield from _conversation(chronology.conversation)
    yield Spacer(1, 8 * mm)
    yield from _documents(chronology.documents)


def _cover(chronology: Chronology) -> list[Flowable]:
    sheet = styles()
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
    return [
        Heading("Child protection file: chronology", sheet["title"], 0, "cover"),
        Spacer(1, 4 * mm),
        TaggedParagraph(
            "Confidential. This file is part of a child protection record transferred under "
            "Keeping Children Safe in Education. Keep it separately from the main pupil file.",
            sheet["meta"],
        ),
        Spacer(1, 6 * mm),
        _table(rows, (45 * mm, None)),
        Spacer(1, 6 * mm),
        TaggedParagraph(
            f"Redaction: {redaction.names_replaced} mentions of "
            f"{redaction.people_pseudonymised} other people were replaced; "
            f"{redaction.pdf_text_removals} passages were removed from documents; "
            f"{redaction.flags_resolved} review flags were resolved by the DSL.",
            sheet["meta"],
        ),
    ]


def _incident(incident: Incident, number: int) -> list[Flowable]:
    sheet = styles()
    categories = incident.category
    if incident.subcategories:
        categories += " — " + ", ".join(incident.subcategories)
    title = f"{when(incident.occurred_at)}: {incident.category}"
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
    parts: list[Flowable] = [
        Heading(f"{number}. {title}", sheet["h2"], 1, f"incident-{number}"),
        _table(rows, (30 * mm, None)),
        Spacer(1, 2 * mm),
        TaggedParagraph("<b>Narrative</b>", sheet["body"]),
        TaggedParagraph(text(incident.narrative) or "(empty)", sheet["body"]),
    ]
    if incident.actions:
        parts.append(TaggedParagraph("<b>Actions</b>", sheet["body"]))
        parts.append(StructureStart("L"))
        for action in sorted(incident.actions, key=lambda a: a.taken_at):
            parts.append(
                TaggedParagraph(
                    f"{text(when(action.taken_at))}, {text(action.author)}: {text(action.text)}",
                    sheet["body"],
                    bulletText="•",
                    role="LBody",
                    within=("LI",),
                )
            )
        parts.append(StructureEnd())
    if incident.edits:
        parts.append(TaggedParagraph("<b>Edit marks</b>", sheet["meta"]))
        for edit in sorted(incident.edits, key=lambda e: e.edited_at):
            parts.append(
                TaggedParagraph(
                    f"[edited {text(when(edit.edited_at))} by {text(edit.editor)}] "
                    f"{text(edit.note)}",
                    sheet["meta"],
                )
            )
    parts.append(Spacer(1, 5 * mm))
    return [KeepTogether(parts[:3]), *parts[3:]]


def _conversation(conversation: Conversation | None) -> list[Flowable]:
    sheet = styles()
    parts: list[Flowable] = [Heading("DSL conversation summary", sheet["h1"], 0, "conversation")]
    if conversation is None:
        parts.append(TaggedParagraph("No DSL conversation was recorded.", sheet["body"]))
        return parts
    parts.append(
        _table(
            [
                ("Held", when(conversation.held_at)),
                ("Participants", ", ".join(conversation.participants)),
                ("Recorded by", conversation.recorded_by or "not recorded"),
            ],
            (30 * mm, None),
        )
    )
    parts.append(Spacer(1, 2 * mm))
    parts.append(TaggedParagraph(text(conversation.summary), sheet["body"]))
    return parts


def _documents(documents: tuple[DocumentEntry, ...]) -> list[Flowable]:
    sheet = styles()
    parts: list[Flowable] = [Heading("Attached documents", sheet["h1"], 0, "documents")]
    if not documents:
        parts.append(TaggedParagraph("No documents are attached.", sheet["body"]))
        return parts
    parts.append(
        TaggedParagraph(
            f"{len(documents)} documents travel with this file. Each SHA-256 below is the "
            "fingerprint of the exact bytes sent.",
            sheet["body"],
        )
    )
    for document in documents:
        parts.append(
            KeepTogether(
                [
                    TaggedParagraph(
                        f"<b>{text(document.name)}</b>: {text(document.title)} "
                        f"({text(when(document.document_date))}, {document.size:,} bytes)",
                        sheet["body"],
                    ),
                    TaggedParagraph(f"SHA-256 {document.sha256}", sheet["mono"]),
                    Spacer(1, 2 * mm),
                ]
            )
        )
    return parts


def _table(rows: list[tuple[str, str]], widths: tuple[Any, Any]) -> Table:
    data = label_value_cells(rows)
    table = Table(data, colWidths=widths, hAlign="LEFT", renderCB=TableTagger(header_columns=1))
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
