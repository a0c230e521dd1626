"""The register for an auditor: every transfer in and out and every disposal, for a period.

Children are named by their pseudonymous reference only; the register is a CSV a spreadsheet
opens safely and a PDF made with ReportLab like the project's other PDFs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.errors import ExchangeError
from exchange.packaging._pdfkit import DocTemplate, Heading, styles, text
from exchange.packaging.keys import KIND_SIGNING, all_public_keys, public_key_of
from exchange.packaging.offline_csv import spreadsheet_csv
from exchange.packaging.pdf_structure import TableTagger, TaggedParagraph
from exchange.records.models import School
from exchange.retention.certificate import verify_certificate
from exchange.retention.models import DisposalCertificate
from exchange.retention.refs import pupil_ref, school_secret
from exchange.retention.rules import LONDON
from exchange.transfers.models import OUTGOING, Transfer

HEADER = (
    "kind",
    "date",
    "reference",
    "pupil reference",
    "other school",
    "status",
    "delivered",
    "receipt verified",
    "incidents",
    "documents",
)


@dataclass(frozen=True)
class RegisterLine:
    """One line of the register: a transfer in or out, or one child's disposal."""

    kind: str
    day: date
    reference: str
    pupil_ref: str
    other_school: str
    status: str
    delivered: str
    receipt: str
    incidents: str
    documents: str

    def cells(self) -> tuple[str, ...]:
        """Return the line as CSV cells."""
        return (
            self.kind,
            self.day.isoformat(),
            self.reference,
            self.pupil_ref,
            self.other_school,
            self.status,
            self.delivered,
            self.receipt,
            self.incidents,
            self.documents,
        )


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON)


def _day(moment: datetime | None) -> str:
    return moment.astimezone(LONDON).date().isoformat() if moment else ""


def _transfers(
    session: Session, school_id: int, secret: bytes, since: date, until: date
) -> list[RegisterLine]:
    rows = session.scalars(
        select(Transfer)
        .where(
            Transfer.school_id == school_id,
            Transfer.created_at >= _moment(since),
            Transfer.created_at < _moment(until + timedelta(days=1)),
        )
        .order_by(Transfer.created_at, Transfer.id)
    )
    return [
        RegisterLine(
            "transfer out" if row.direction == OUTGOING else "transfer in",
            row.created_at.astimezone(LONDON).date(),
            row.transfer_uid,
            pupil_ref(secret, row.pupil_upn),
            f"{row.partner.name} (URN {row.partner.urn or 'none'})",
            row.state.replace("_", " "),
            _day(row.delivered_at),
            _day(row.receipt_verified_at),
            "",
            "",
        )
        for row in rows
    ]


def _disposals(session: Session, school_id: int, since: date, until: date) -> list[RegisterLine]:
    keys = [public_key_of(key) for key in all_public_keys(session, school_id, KIND_SIGNING)]
    rows = session.scalars(
        select(DisposalCertificate)
        .where(
            DisposalCertificate.school_id == school_id,
            DisposalCertificate.issued_at >= _moment(since),
            DisposalCertificate.issued_at < _moment(until + timedelta(days=1)),
        )
        .order_by(DisposalCertificate.issued_at, DisposalCertificate.id)
    )
    lines = []
    for row in rows:
        day = row.issued_at.astimezone(LONDON).date()
        try:
            payload = verify_certificate(row.jws, keys)  # type: ignore[arg-type]
        except ExchangeError as exc:
            lines.append(
                RegisterLine(
                    "disposal", day, f"certificate {row.id}", "", "", exc.message, "", "", "", ""
                )
            )
            continue
        for pupil in payload.get("pupils", []):
            lines.append(
                RegisterLine(
                    "disposal",
                    day,
                    f"certificate {row.id}",
                    str(pupil.get("ref", "")),
                    "",
                    "whole file destroyed" if pupil.get("whole_file") else "records destroyed",
                    "",
                    "",
                    str(pupil.get("incidents", 0)),
                    str(pupil.get("documents", 0)),
                )
            )
    return lines


def register(
    session: Session, school_id: int, instance_key: bytes, since: date, until: date
) -> list[RegisterLine]:
    """Return the period's transfers and disposals, in date order."""
    secret = school_secret(instance_key, school_id)
    lines = _transfers(session, school_id, secret, since, until)
    lines += _disposals(session, school_id, since, until)
    return sorted(lines, key=lambda line: (line.day, line.kind, line.reference))


def register_csv(lines: list[RegisterLine]) -> bytes:
    """Return the register as a formula-safe CSV."""
    return spreadsheet_csv(HEADER, [line.cells() for line in lines])


def register_pdf(school: School, since: date, until: date, lines: list[RegisterLine]) -> bytes:
    """Return the register as a PDF for the auditor."""
    sheet = styles()
    period = f"{since.isoformat()} to {until.isoformat()}"
    doc = DocTemplate(
        title=f"Register of transfers and disposals, {period}",
        footer=f"Register, school URN {school.urn}, {period}",
        subject="Register of transfers and disposals",
        pagesize=landscape(A4),
    )
    counts = {
        kind: sum(1 for line in lines if line.kind == kind)
        for kind in ("transfer out", "transfer in", "disposal")
    }
    header = ["Kind", "Date", "Reference", "Pupil reference", "Other school", "Status",
              "Delivered", "Receipt", "Inc.", "Docs"]  # fmt: skip
    rows = [header] + [list(line.cells()) for line in lines]
    cells = [[TaggedParagraph(text(cell), sheet["small"]) for cell in row] for row in rows]
    widths = [22, 20, 30, 48, 40, 38, 20, 20, 10, 10]
    table = Table(
        cells,
        colWidths=[w * mm for w in widths],
        repeatRows=1,
        renderCB=TableTagger(header_rows=1),
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story: list[Flowable] = [
        Heading("Register of transfers and disposals", sheet["title"], 0, "register"),
        Spacer(1, 4 * mm),
        TaggedParagraph(
            text(
                f"{school.name}, URN {school.urn}. Period {period} (Europe/London). "
                f"{counts['transfer out']} transfers out, {counts['transfer in']} transfers in, "
                f"{counts['disposal']} disposals of a child's records. Children are named by "
                "a pseudonymous reference the school recomputes from the UPN."
            ),
            sheet["body"],
        ),
        Spacer(1, 4 * mm),
        table if lines else TaggedParagraph("Nothing in this period.", sheet["body"]),
    ]
    return doc.render(story)
