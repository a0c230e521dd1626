"""Generate clearly fictional transfer content for tests, test vectors and benchmarks."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import BinaryIO

from exchange.packaging.content import (
    Action,
    Chronology,
    Conversation,
    Edit,
    Incident,
    PupilSummary,
    RedactionSummary,
    SchoolRef,
    VaultFile,
)
from exchange.packaging.names import vault_name

SENDER = SchoolRef(urn="900001", name="Testbrook Primary School (fictional)", laestab="9991001")
RECIPIENT = SchoolRef(urn="900002", name="Examplefield Academy (fictional)", laestab="9994002")
CATEGORIES = (
    ("Child protection", ("Neglect", "Emotional")),
    ("Attendance", ("Persistent absence",)),
    ("Bullying", ("Online", "Verbal")),
    ("Child-on-child", ("Physical",)),
    ("Medical", ()),
    ("SEN", ("EHCP review",)),
)
_PROSE = (
    "reported concerns about lunch breakfast missed tired upset class teacher spoke parent "
    "carer called meeting agreed plan review referral early help social care attended "
    "playground [Child-A] [Child-B] said worried home visit follow up monitored"
)
_WORDS = tuple(_PROSE.split(" "))


def fictional_pdf(size: int, seed: int) -> bytes:
    """Return a small valid PDF padded with a random stream to about size bytes."""
    rng = random.Random(seed)  # noqa: S311 - fictional data, not secrets
    padding = rng.randbytes(max(0, size - 600))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Length %d >>\nstream\n" % len(padding) + padding + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def fictional_vault(count: int, size: int, seed: int = 1) -> list[VaultFile]:
    """Return count fictional PDFs of about size bytes each, held in memory."""
    files = []
    for number in range(1, count + 1):
        data = fictional_pdf(size, seed * 1000 + number)
        files.append(
            VaultFile(
                name=vault_name(number, "pdf"),
                title=f"Fictional document {number}",
                opener=_opener(data),
                document_date=date(2024, 1, 1) + timedelta(days=number * 7),
            )
        )
    return files


def fictional_chronology(
    incidents: int = 5, seed: int = 1, transfer_id: str = "tr-00000000-test"
) -> Chronology:
    """Return a fictional, already-redacted chronology with the given number of incidents."""
    rng = random.Random(seed)  # noqa: S311 - fictional data, not secrets
    start = datetime(2023, 9, 4, 9, 0, tzinfo=UTC)
    items = []
    for number in range(1, incidents + 1):
        occurred = start + timedelta(days=rng.randint(0, 600), minutes=rng.randint(0, 480))
        category, subcategories = rng.choice(CATEGORIES)
        narrative = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(30, 120)))
        actions = tuple(
            Action(occurred + timedelta(days=k + 1), "Ms T. Staffmember", f"Follow-up {k + 1}.")
            for k in range(rng.randint(0, 3))
        )
        edits = (
            (Edit(occurred + timedelta(days=2), "Mr E. Editor", "Corrected the time."),)
            if number % 5 == 0
            else ()
        )
        items.append(
            Incident(
                ref=f"INC-{number:04d}",
                occurred_at=occurred,
                recorded_at=occurred + timedelta(hours=2),
                category=category,
                subcategories=subcategories,
                narrative=narrative + " <b>not markup</b> & 'quoted'.",
                author="Ms T. Staffmember",
                agencies=("Children's social care",) if number % 3 == 0 else (),
                body_map=number % 7 == 0,
                actions=actions,
                edits=edits,
            )
        )
    return Chronology(
        transfer_id=transfer_id,
        sender=SENDER,
        recipient=RECIPIENT,
        pupil=PupilSummary("Alex Fictional", date(2014, 3, 1), "B801200005001", "Year 5"),
        authorised_by="Dr D. Designated (DSL)",
        authorised_at=datetime(2025, 7, 1, 10, 30, tzinfo=UTC),
        generated_at=datetime(2025, 7, 1, 10, 31, tzinfo=UTC),
        incidents=tuple(items),
        conversation=Conversation(
            held_at=datetime(2025, 6, 30, 15, 0, tzinfo=UTC),
            participants=("Dr D. Designated", "Mr R. Receiving"),
            summary="Discussed needs, current plan and who to contact. Fictional summary.",
            recorded_by="Dr D. Designated",
        ),
        redaction=RedactionSummary(names_replaced=7, people_pseudonymised=2, pdf_text_removals=1),
    )
