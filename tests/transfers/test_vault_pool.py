"""The vault pool: the same bytes, reports and pseudonyms with one process or two."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from pathlib import Path

import docx
import pytest
from PIL import Image, ImageDraw, ImageFont
from transfer_kit import make_pdf

from exchange.redaction.names import Person
from exchange.redaction.pipeline import RedactionBlocked, process_document
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.transfers.vault_pool import VaultJob, pool_size, redact_documents

PEOPLE = [
    Person("pupil:1", "Ollie", "Pemberton"),
    Person("pupil:2", "Freya", "Lindqvist"),
    Person("pupil:3", "Rowan", "Achterberg"),
    Person("pupil:9", "Maisie", "Thornbury"),
]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# The texts have already named Ollie: the documents name Rowan, then Freya, for the first time.
BOOK = {"pupil:1": "A"}


def _scan(path: Path, lines: list[str]) -> None:
    image = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 36)
    for number, line in enumerate(lines):
        draw.text((120, 160 + 60 * number), line, fill=0, font=font)
    image.save(path, dpi=(150, 150))


def _docx(path: Path, lines: list[str]) -> None:
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    document.save(str(path))


@pytest.fixture
def sources(tmp_path: Path) -> list[tuple[Path, str]]:
    folder = tmp_path / "in"
    folder.mkdir()
    made: list[tuple[Path, str]] = []
    pdfs = [
        ["Core group minutes", "Ollie Pemberton was present."],
        ["Referral", "Rowan Achterberg and Ollie were seen at the gate."],
        ["Letter", "Freya Lindqvist told her teacher, then Rowan did."],
    ]
    for number, lines in enumerate(pdfs):
        path = folder / f"minutes-{number}.pdf"
        path.write_bytes(make_pdf(lines))
        made.append((path, "application/pdf"))
    scan = folder / "scan.png"
    _scan(scan, ["Statement taken at school", "Freya Lindqvist was upset."])
    made.append((scan, "image/png"))
    if shutil.which("soffice"):
        office = folder / "plan.docx"
        _docx(office, ["Safety plan", "Keep apart from Rowan Achterberg at lunch."])
        made.append(
            (office, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        )
    return made


def _jobs(sources: list[tuple[Path, str]], out: Path) -> list[VaultJob]:
    out.mkdir()
    return [
        VaultJob(str(path), str(out / f"{n}.pdf"), media, f"document:{n}")
        for n, (path, media) in enumerate(sources)
    ]


def _digests(jobs: list[VaultJob]) -> list[str | None]:
    return [
        hashlib.sha256(Path(j.destination).read_bytes()).hexdigest()
        if Path(j.destination).exists()
        else None
        for j in jobs
    ]


def test_one_process_and_two_give_the_same_bytes_as_working_in_order(
    sources: list[tuple[Path, str]], tmp_path: Path
) -> None:
    one_jobs = _jobs(sources, tmp_path / "one")
    two_jobs = _jobs(sources, tmp_path / "two")
    seen: list[tuple[int, int]] = []
    one, one_book = redact_documents(one_jobs, PEOPLE, "pupil:9", BOOK, workers=1)
    two, two_book = redact_documents(
        two_jobs, PEOPLE, "pupil:9", BOOK, workers=2, progress=lambda d, t: seen.append((d, t))
    )
    assert _digests(one_jobs) == _digests(two_jobs)
    assert None not in _digests(one_jobs)
    assert [o.report for o in one] == [o.report for o in two]
    assert one_book == two_book == {"pupil:1": "A", "pupil:3": "B", "pupil:2": "C"}
    # The same as one process working in document order with one book, as before the pool.
    book = PseudonymBook(dict(BOOK))
    reference = _jobs(sources, tmp_path / "ref")
    for job in reference:
        with contextlib.suppress(RedactionBlocked):
            process_document(
                job.source,
                job.destination,
                PEOPLE,
                media_type=job.media_type,
                subject_id="pupil:9",
                book=book,
                document=job.document,
            )
    assert _digests(reference) == _digests(one_jobs)
    assert book.to_dict() == one_book
    # Progress ran from nothing to every document, with the re-runs counted in.
    assert seen[0] == (0, len(sources))
    assert seen[-1][0] == seen[-1][1] >= len(sources)


def test_a_document_that_cannot_be_redacted_is_reported_not_raised(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not a PDF body")
    jobs = _jobs([(broken, "application/pdf")] * 2, tmp_path / "out")
    outcomes, book = redact_documents(jobs, PEOPLE, None, {}, workers=2)
    assert [o.status for o in outcomes] == ["invalid", "invalid"]
    assert outcomes[0].message.startswith("the PDF cannot be read")
    assert book == {}


def test_the_pool_is_sized_to_the_machine_unless_set() -> None:
    assert pool_size(3) == 3
    assert 1 <= pool_size(0) <= 512
