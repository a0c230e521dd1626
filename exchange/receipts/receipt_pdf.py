"""A printable summary of a verified receipt pair, for the DPO's file."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from exchange.packaging.keys import phone_fingerprint

if TYPE_CHECKING:
    from exchange.receipts.evidence import Evidence


def render_receipt_pdf(evidence: Evidence) -> bytes:
    """Return a one-page PDF of who received what, when, with which keys (no child's details)."""
    styles = getSampleStyleSheet()
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
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title="Receipt of a safeguarding file transfer", lang="en-GB"
    )
    cell = styles["BodyText"]
    table = Table([[Paragraph(k, cell), Paragraph(v, cell)] for k, v in rows], colWidths=(170, 320))
    document.build(
        [
            Paragraph("Receipt of a safeguarding file transfer", styles["Title"]),
            Paragraph(
                "Both schools signed this receipt: the receiving school stated what it received "
                "and "
                "the sending school confirmed it matches what it sent. Check the signatures with "
                "the files beside this PDF (see README.txt).",
                styles["BodyText"],
            ),
            Spacer(1, 12),
            table,
        ]
    )
    return buffer.getvalue()
