"""A printable summary of a verified receipt pair, for the DPO's file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table

from exchange.packaging._pdfkit import DocTemplate, Heading, label_value_cells, styles
from exchange.packaging.keys import phone_fingerprint
from exchange.packaging.pdf_structure import TableTagger, TaggedParagraph

if TYPE_CHECKING:
    from exchange.receipts.evidence import Evidence


def render_receipt_pdf(evidence: Evidence) -> bytes:
    """Return a one-page PDF of who received what, when, with which keys (no child's details)."""
    receipt = evidence.receipt
    rows = [
        ("Transfer reference", receipt.transfer_id),
        ("Sending school (URN)", evidence.sender_urn),
        ("Receiving school (URN)", evidence.receiver_urn),
        ("Outcome", receipt.disposition),
        ("Files received", str(receipt.file_count)),
        ("Received at", receipt.received_at),
        ("Countersigned at", datetime.fromtimestamp(evidence.countersigned_at, UTC).isoformat()),
        ("SHA-256 of the bytes received", receipt.ciphertext_sha256),
        ("SHA-256 of the manifest", receipt.manifest_sha256 or "-"),
        ("Receiving school's key", phone_fingerprint(evidence.receiver_key_id)),
        ("Sending school's key", phone_fingerprint(evidence.sender_key_id)),
    ]
    sheet = styles()
    doc = DocTemplate(
        title="Receipt of a safeguarding file transfer",
        footer=f"Receipt, transfer {receipt.transfer_id}",
        subject="Safeguarding file transfer: receipt",
    )
    cells = label_value_cells(rows)
    table = Table(cells, colWidths=(60 * mm, 110 * mm), renderCB=TableTagger(header_columns=1))
    story = [
        Heading("Receipt of a safeguarding file transfer", sheet["title"], 0, "receipt"),
        TaggedParagraph(
            "Both schools signed this receipt: the receiving school stated what it received and "
            "the sending school confirmed it matches what it sent. Check the signatures with "
            "the files beside this PDF (see README.txt).",
            sheet["body"],
        ),
        Spacer(1, 4 * mm),
        table,
    ]
    return doc.render(story)
