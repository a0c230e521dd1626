"""Render the response: a cover letter, the disclosed records in date order, the schedule.

The redacted documents follow as appendices in the same PDF, so one file is sent or printed;
every page, appendices included, carries the footer with "Page N of M".
Before it is kept, the whole PDF is checked with the redactor's independent checker
(pdftotext, qpdf and PDFium): no removed name may remain anywhere in it.
"""

from __future__ import annotations

import io
import tempfile
from datetime import date, datetime
from pathlib import Path

import pikepdf
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer, Table, TableStyle
from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.packaging._pdfkit import (
    DocTemplate,
    Heading,
    fonts,
    label_value_cells,
    styles,
    text,
    when,
)
from exchange.packaging.pdf_structure import TableTagger, TaggedParagraph
from exchange.records.models import Pupil, School
from exchange.redaction.checker import check_pdf, needles_for
from exchange.subject_access.models import SubjectAccessItem, SubjectAccessRequest
from exchange.subject_access.people import people_for
from exchange.subject_access.schedule import ScheduleRow, build_schedule
from exchange.vault.pupil_keys import blob_context, pupil_data_key

ICO = "the Information Commissioner's Office (ico.org.uk, 0303 123 1113)"


def build_response(
    session: Session,
    instance: Instance,
    request: SubjectAccessRequest,
    school: School,
    pupil: Pupil,
    receipt_code: str,
) -> bytes:
    """Return the response PDF, checked independently for every removed name."""
    schedule = build_schedule(request)
    disclosed = _disclosed(request)
    documents = [item for item in disclosed if item.kind == "document"]
    footer = f"{school.name}: response to subject access request {request.request_uid[:8]}"
    doc = DocTemplate(
        title=f"Response to a subject access request ({request.request_uid[:8]})",
        footer=footer,
        author=school.name,
        subject="Subject access request response",
    )
    story = [
        *_letter(request, school, pupil, receipt_code, len(disclosed), len(schedule)),
        PageBreak(),
        *_records(request, disclosed, schedule),
        PageBreak(),
        *_schedule(schedule),
    ]
    if documents:
        sources = _redacted_copies(session, instance, pupil, documents)
        appended = sum(_page_count(data) for data in sources)
        pdf = _append(doc.render(story, pages_after=appended), sources, footer)
    else:
        pdf = doc.render(story)
    _check(session, request, pupil, pdf)
    return pdf


def _disclosed(request: SubjectAccessRequest) -> list[SubjectAccessItem]:
    withheld = {e.item_id for e in request.exemptions if e.passage is None}
    items = [i for i in request.items if i.included and i.id not in withheld]
    return sorted(items, key=lambda i: (i.occurred_at is None, i.occurred_at, i.id))


def _letter(
    request: SubjectAccessRequest,
    school: School,
    pupil: Pupil,
    code: str,
    disclosed: int,
    withheld: int,
) -> list[Flowable]:
    sheet = styles()
    about = (
        "you" if request.requester_relationship == "self" else f"{pupil.forename} {pupil.surname}"
    )
    paragraphs = [
        f"Dear {request.requester_name},",
        f"You asked us on {when(request.received_on)} for the information {school.name} holds "
        f"about {about} in its safeguarding (child protection) records. This is our response "
        "under Article 15 of the UK General Data Protection Regulation.",
        f"The records follow in date order: {disclosed} in all. Names and details of other "
        "people have been removed, and some information is withheld where the law allows it. "
        f"The schedule at the end lists each of the {withheld} items withheld or removed, "
        "with the reason and the law that allows it; it does not say what they contain.",
        "Why we hold this information: to keep children safe, as schools must under Keeping "
        "Children Safe in Education and the Children Act 1989 (UK GDPR Article 6(1)(c) and (e); "
        "Article 9(2)(g) with the Data Protection Act 2018, Schedule 1 para 18). It comes from "
        "our staff, the child, family members, other agencies and previous schools, as each "
        "record shows. We share it with a new school when the child moves, and with children's "
        "social care, the police or health services when that is needed to protect a child. "
        "We keep it until the child's 25th birthday, or longer where the law requires.",
        "You may ask us to correct anything that is wrong. If you are unhappy with this "
        f"response, please contact our Data Protection Officer; you may also complain to {ICO}.",
        "Please tell us when you have received this response by giving us this receipt code "
        f"(by phone, by letter or in person): <b>{text(code)}</b>",
        "Yours sincerely,",
        f"The Designated Safeguarding Lead, {school.name}",
    ]
    letter = ParagraphStyle("letter", parent=sheet["body"], spaceAfter=3 * mm)
    rows = [
        ("Our reference", request.request_uid[:8]),
        ("Request received", when(request.received_on)),
        ("Response date", when(date.today())),
    ]
    return [
        Heading("Your subject access request", sheet["title"], 0, "letter"),
        Spacer(1, 4 * mm),
        _table(label_value_cells(rows), (45 * mm, None)),
        Spacer(1, 6 * mm),
        *[TaggedParagraph(p if "<b>" in p else text(p), letter) for p in paragraphs],
    ]


def _records(
    request: SubjectAccessRequest, disclosed: list[SubjectAccessItem], schedule: list[ScheduleRow]
) -> list[Flowable]:
    sheet = styles()
    parts: list[Flowable] = [Heading("The records, in date order", sheet["h1"], 0, "records")]
    if not disclosed:
        parts.append(TaggedParagraph("No records are disclosed.", sheet["body"]))
    numbers = {row.exemption_id: row.number for row in schedule if row.exemption_id is not None}
    appendix = 0
    for index, item in enumerate(disclosed, start=1):
        title = f"{index}. {when(item.occurred_at)}: {item.category}"
        head = [
            Heading(title, sheet["h2"], 1, f"record-{index}"),
            TaggedParagraph(text(item.provenance), sheet["meta"]),
        ]
        if item.kind == "document":
            appendix += 1
            body = [
                TaggedParagraph(
                    f"A document: it follows the schedule as appendix {appendix}.", sheet["body"]
                )
            ]
        else:
            body = _incident_body(request, item, numbers)
        parts.append(KeepTogether([*head, *body[:1]]))
        parts.extend(body[1:])
        parts.append(Spacer(1, 4 * mm))
    return parts


def _incident_body(
    request: SubjectAccessRequest, item: SubjectAccessItem, numbers: dict[int | None, int]
) -> list[Flowable]:
    sheet = styles()
    redacted = item.redacted or {}
    passages = [(e.passage, numbers.get(e.id)) for e in request.exemptions if e.item_id == item.id]

    def shown(value: str) -> str:
        for passage, number in passages:
            if passage:
                value = value.replace(passage, f"[withheld: see schedule item {number}]")
        return value

    body: list[Flowable] = [
        TaggedParagraph(text(shown(str(redacted.get("narrative", "")))) or "(empty)", sheet["body"])
    ]
    for action in redacted.get("actions", []):
        body.append(
            TaggedParagraph(
                f"{text(when(_parse(action['at'])))}: {text(shown(action['text']))}",
                sheet["body"],
                bulletText="•",
            )
        )
    return body


def _schedule(schedule: list[ScheduleRow]) -> list[Flowable]:
    sheet = styles()
    parts: list[Flowable] = [
        Heading("Schedule of information withheld or removed", sheet["h1"], 0, "schedule")
    ]
    if not schedule:
        parts.append(TaggedParagraph("Nothing was withheld or removed.", sheet["body"]))
        return parts
    small = sheet["small"]
    header = [TaggedParagraph(f"<b>{h}</b>", small) for h in ("No.", "Record", "Withheld", "Why")]
    rows = [header] + [
        [
            TaggedParagraph(str(row.number), small),
            TaggedParagraph(text(f"{when(row.record_date)}, {row.category}"), small),
            TaggedParagraph(text(row.what), small),
            TaggedParagraph(f"{text(row.reason)}<br/><i>{text(row.basis)}</i>", small),
        ]
        for row in schedule
    ]
    parts.append(_table(rows, (10 * mm, 45 * mm, 35 * mm, None), header_row=True))
    return parts


def _table(rows: list, widths: tuple, header_row: bool = False) -> Table:  # type: ignore[type-arg]
    tagger = TableTagger(header_rows=1) if header_row else TableTagger(header_columns=1)
    table = Table(
        rows, colWidths=widths, hAlign="LEFT", renderCB=tagger, repeatRows=int(header_row)
    )
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


def _redacted_copies(
    session: Session, instance: Instance, pupil: Pupil, documents: list[SubjectAccessItem]
) -> list[bytes]:
    key = pupil_data_key(session, pupil, instance.instance_key)
    copies = []
    for item in documents:
        if not item.redacted_storage_key:
            raise ValidationError(f"document item {item.id} has no redacted copy")
        copies.append(instance.blobs.read_all(key, blob_context(pupil), item.redacted_storage_key))
    return copies


def _page_count(data: bytes) -> int:
    with pikepdf.open(io.BytesIO(data)) as source:
        return len(source.pages)


def _footer_page(width: float, height: float, footer: str, number: int, total: int) -> bytes:
    """Return a one-page PDF holding only the footer, to lay over an appended page."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), invariant=1)
    canvas.setFont(fonts()[0], 8)
    canvas.drawString(18 * mm, 10 * mm, footer)
    canvas.drawRightString(width - 18 * mm, 10 * mm, f"Page {number} of {total}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _append(pdf: bytes, sources: list[bytes], footer: str) -> bytes:
    """Append the redacted documents, each page with the footer and its number of the total."""
    with pikepdf.open(io.BytesIO(pdf)) as whole:
        opened = []
        first = len(whole.pages)
        for data in sources:
            source = pikepdf.open(io.BytesIO(data))
            opened.append(source)
            whole.pages.extend(source.pages)
        total = len(whole.pages)
        for index in range(first, total):
            page = whole.pages[index]
            left, bottom, right, top = (float(v) for v in page.mediabox)
            stamp = pikepdf.open(
                io.BytesIO(_footer_page(right - left, top - bottom, footer, index + 1, total))
            )
            opened.append(stamp)
            page.add_overlay(stamp.pages[0])
        out = io.BytesIO()
        whole.save(out)
        for source in opened:
            source.close()
    return out.getvalue()


def _check(session: Session, request: SubjectAccessRequest, pupil: Pupil, pdf: bytes) -> None:
    people, subject_id, family = people_for(session, request, pupil)
    with tempfile.TemporaryDirectory(prefix="sgx-sar-check-") as folder:
        path = Path(folder) / "response.pdf"
        path.write_bytes(pdf)
        result = check_pdf(path, needles_for(people, subject_id, family))
    if not result.passed:
        raise ValidationError(
            "the independent check still finds another person's name in the response: "
            "nothing was approved"
        )


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)
