"""Render the transfer form for an offline export: every file, its SHA-256, and signature boxes.

The PDF made here is then signed as PAdES with the sending school's key (exchange.packaging.pades);
the form states the key's fingerprint so the receiver can match it against what they were told.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from exchange.packaging._pdfkit import (
    DocTemplate,
    Heading,
    label_value_cells,
    styles,
    text,
    when,
)
from exchange.packaging.content import Chronology
from exchange.packaging.keys import phone_fingerprint
from exchange.packaging.manifest import FileEntry
from exchange.packaging.pdf_structure import TableTagger, TaggedParagraph


def render_transfer_form(
    chronology: Chronology,
    files: Sequence[FileEntry],
    receipt_file: str,
    zip_file_count: int,
    key_fingerprint: str | None = None,
) -> bytes:
    """Return the transfer form PDF listing files with their sizes and SHA-256."""
    doc = DocTemplate(
        title=f"Safeguarding file transfer form, transfer {chronology.transfer_id}",
        footer=f"Confidential: child protection. Transfer {chronology.transfer_id}",
        author=chronology.sender.name,
        subject="Child protection file transfer: transfer form",
    )
    return doc.render(_story(chronology, files, receipt_file, zip_file_count, key_fingerprint))


def _story(
    chronology: Chronology,
    files: Sequence[FileEntry],
    receipt_file: str,
    zip_file_count: int,
    key_fingerprint: str | None,
) -> list[Flowable]:
    sheet = styles()
    details = [
        ("Sending school", f"{chronology.sender.name} (URN {chronology.sender.urn})"),
        ("Receiving school", f"{chronology.recipient.name} (URN {chronology.recipient.urn})"),
        ("Pupil", chronology.pupil.display_name),
        ("Date of birth", when(chronology.pupil.date_of_birth)),
        ("Transfer id", chronology.transfer_id),
        ("Authorised by", f"{chronology.authorised_by}, {when(chronology.authorised_at)}"),
    ]
    name_style = sheet["mono"]
    listing = [["File", "Bytes", "SHA-256"]] + [
        [TaggedParagraph(text(entry.name), name_style), f"{entry.size}", entry.sha256]
        for entry in files
    ]
    table = Table(
        listing,
        colWidths=(52 * mm, 16 * mm, None),
        hAlign="LEFT",
        repeatRows=1,
        renderCB=TableTagger(header_rows=1),
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "SgxMono", 7),
                ("FONT", (0, 0), (-1, 0), "SgxSansBold", 8),
                ("ALIGN", (1, 1), (1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
            ]
        )
    )
    return [
        Heading("Safeguarding file transfer form", sheet["title"], 0, "form"),
        Spacer(1, 4 * mm),
        _pairs(details),
        Spacer(1, 6 * mm),
        Heading("Files in this transfer", sheet["h1"], 0, "files"),
        TaggedParagraph(
            f"Number of files listed: {len(files)}. The zip holds {zip_file_count} files: "
            "this form and the files listed without a '/'. A name with a '/' is a document "
            "inside the inner zip named before the '/'. Check each file's SHA-256 (for example "
            "with <font name='SgxMono'>sha256sum</font> or <font name='SgxMono'>certutil -hashfile "
            "FILE SHA256</font>) before you rely on it.",
            sheet["body"],
        ),
        Spacer(1, 2 * mm),
        table,
        Spacer(1, 6 * mm),
        Heading("Confirm receipt", sheet["h1"], 0, "receipt"),
        TaggedParagraph(
            f"The file <font name='SgxMono'>{text(receipt_file)}</font> holds a receipt code. "
            "Give this code to the sending school's DSL (by phone or through the service) to "
            "confirm that you opened the files and that the count and hashes match.",
            sheet["body"],
        ),
        Spacer(1, 6 * mm),
        Heading("Receiving DSL", sheet["h2"], 1, "signature"),
        _signature_box(),
        Spacer(1, 4 * mm),
        TaggedParagraph(_signature_statement(key_fingerprint), sheet["meta"]),
    ]


def _signature_statement(key_fingerprint: str | None) -> str:
    if key_fingerprint is None:
        return (
            "This form is not digitally signed. The sending school authorised the transfer "
            "as shown above."
        )
    return (
        "This form is digitally signed (PAdES) by the sending school's key, whose fingerprint "
        "is <font name='SgxMono'>"
        f"{text(phone_fingerprint(key_fingerprint))}</font>. Check that your PDF reader shows "
        "the signature as intact and that this fingerprint (the dnQualifier of the signing "
        "certificate) matches the one the sending DSL gave you by phone. The certificate is "
        "self-signed: trust comes from the fingerprint, not from a certificate authority."
    )


def _pairs(rows: list[tuple[str, str]]) -> Table:
    data = label_value_cells(rows)
    table = Table(
        data, colWidths=(40 * mm, None), hAlign="LEFT", renderCB=TableTagger(header_columns=1)
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _signature_box() -> Table:
    sheet = styles()
    rows = [
        [TaggedParagraph(label, sheet["body"]), ""]
        for label in ("Name", "Role", "Signature", "Date", "All files received and checked (Y/N)")
    ]
    table = Table(
        rows,
        colWidths=(60 * mm, 100 * mm),
        rowHeights=12 * mm,
        hAlign="LEFT",
        renderCB=TableTagger(header_columns=1),
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table
