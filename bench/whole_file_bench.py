"""Benchmark the whole child file: review, vault redaction in a pool, authorise, bundle written.

    .venv/bin/python bench/whole_file_bench.py            # 300 incidents, 30 documents
    .venv/bin/python bench/whole_file_bench.py --quick    # 30 incidents, 6 documents
    .venv/bin/python bench/whole_file_bench.py --workers 1

A generated child (fictional names) with incidents naming other children and a vault of
born-digital PDFs from three producers (ReportLab, LibreOffice, groff + Ghostscript), two scans
made by rendering pages to images, and one DOCX. The service's own steps are timed one by one:
"start_review" (the request: texts queued), the vault task (the texts redacted, then every
document redacted, checked, converted and read in a pool), and "authorise" (the bundle built,
signed, encrypted and written). The floor is measured in the same run on the same files with the
same parallelism: qpdf rewriting every PDF, tesseract reading every rendered page, LibreOffice
converting the DOCX, and 7-Zip AES-256 zipping the result. Needs qpdf, tesseract, pdftoppm,
soffice, groff, ps2pdf and 7zz (or 7z).
"""

from __future__ import annotations

import argparse
import base64
import io
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # The test kit makes two schools that trust each other.

from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402
from transfer_kit import (  # noqa: E402
    OTHER_CHILD,
    SUBJECT,
    actor,
    child_with_records,
    introduce,
    school_with_keys,
)

from exchange.db import transaction  # noqa: E402
from exchange.instance import Instance, open_instance  # noqa: E402
from exchange.migrate import upgrade  # noqa: E402
from exchange.outbox.service import written_in  # noqa: E402
from exchange.partners.service import find_partner  # noqa: E402
from exchange.policy.service import find_category  # noqa: E402
from exchange.records.models import (  # noqa: E402
    Incident,
    Pupil,
    School,
    StaffMember,
    VaultDocument,
)
from exchange.records.upn import make_upn  # noqa: E402
from exchange.transfers import incoming, workflow  # noqa: E402
from exchange.transfers.bundle_step import outbox_path  # noqa: E402
from exchange.transfers.client import WsgiTransport  # noqa: E402
from exchange.transfers.delivery import partner_url  # noqa: E402
from exchange.transfers.models import Transfer  # noqa: E402
from exchange.transfers.vault_pool import pool_size  # noqa: E402
from exchange.transfers.vault_task import redact_vault  # noqa: E402
from exchange.vault.pupil_keys import blob_context, pupil_data_key  # noqa: E402

FORENAMES = ["Amara", "Callum", "Darcey", "Eliot", "Fenella", "Gideon", "Hattie", "Idris",
             "Juniper", "Kit", "Lorcan", "Marnie", "Nico", "Orla", "Piran", "Quinn", "Rosalind",
             "Soren", "Tabitha", "Ulric"]  # fmt: skip
SURNAMES = ["Ashdown", "Brackley", "Cotterell", "Dunmore", "Elsworth", "Fairbairn", "Greaves",
            "Hollins", "Ibbotson", "Jessop", "Kirkwood", "Lathom", "Merriman", "Northcott",
            "Oakley", "Pendry", "Quarrie", "Rudd", "Stainton", "Thwaite"]  # fmt: skip
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SCAN_DPI = 150


def _lines(rng: random.Random, others: list[str], count: int) -> list[str]:
    words = ["was", "seen", "near", "the", "gate", "at", "break", "and", "said", "her", "bag"]
    return [
        f"{rng.choice(others)} {' '.join(rng.sample(words, 8))}." if n % 3 == 0 else
        f"{SUBJECT[0]} {' '.join(rng.sample(words, 9))}."
        for n in range(count)
    ]  # fmt: skip


def reportlab_pdf(lines: list[str], pages: int) -> bytes:
    """Return a born-digital PDF laid out by ReportLab."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    for _ in range(pages):
        for number, line in enumerate(lines):
            page.drawString(72, 760 - 16 * number, line)
        page.showPage()
    page.save()
    return buffer.getvalue()


def groff_pdf(lines: list[str], work: Path, name: str) -> bytes:
    """Return a born-digital PDF typeset by groff and distilled by Ghostscript."""
    source = work / f"{name}.ms"
    source.write_text("Case note\n.sp\n" + "\n.sp\n".join(lines) + "\n")  # No macro package.
    postscript = subprocess.run(
        ["groff", "-Tps", str(source)], check=True, capture_output=True
    ).stdout
    target = work / f"{name}.pdf"
    subprocess.run(["ps2pdf", "-", str(target)], input=postscript, check=True)
    return target.read_bytes()


def docx_bytes(lines: list[str]) -> bytes:
    """Return a Word document with these paragraphs."""
    import docx

    document = docx.Document()
    document.add_heading("Safety plan", 1)
    for line in lines:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def libreoffice_pdfs(docx_files: list[Path], out: Path) -> list[bytes]:
    """Convert DOCX files to PDF with LibreOffice in one run; return the PDFs."""
    profile = out / "lo-profile"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(out), *map(str, docx_files)],
        check=True, capture_output=True,
    )  # fmt: skip
    return [(out / f"{path.stem}.pdf").read_bytes() for path in docx_files]


def scan_png(pdf: bytes, work: Path, name: str) -> bytes:
    """Return the first page of a PDF rendered to a greyscale picture, as a scanner makes."""
    source = work / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-gray", "-png", "-r", str(SCAN_DPI), "-singlefile", str(source),
         str(work / name)],
        check=True,
    )  # fmt: skip
    return (work / f"{name}.png").read_bytes()


def make_vault(work: Path, count: int, others: list[str]) -> list[tuple[str, str, bytes]]:
    """Return (file name, media type, bytes) of a mixed vault of `count` documents."""
    rng = random.Random(7)
    made: list[tuple[str, str, bytes]] = []
    scans, office = 2, 1
    rest = count - scans - office
    via_lo = max(1, rest // 4)
    via_groff = max(1, rest // 4)
    via_reportlab = rest - via_lo - via_groff
    for n in range(via_reportlab):
        pdf = reportlab_pdf(_lines(rng, others, 30), pages=1 + n % 3)
        made.append((f"reportlab-{n}.pdf", "application/pdf", pdf))
    for n in range(via_groff):
        made.append(
            (f"groff-{n}.pdf", "application/pdf", groff_pdf(_lines(rng, others, 25), work, f"g{n}"))
        )
    sources = []
    for n in range(via_lo):
        path = work / f"lo-{n}.docx"
        path.write_bytes(docx_bytes(_lines(rng, others, 25)))
        sources.append(path)
    for n, pdf in enumerate(libreoffice_pdfs(sources, work)):
        made.append((f"libreoffice-{n}.pdf", "application/pdf", pdf))
    for n in range(scans):
        png = scan_png(reportlab_pdf(_lines(rng, others, 20), 1), work, f"scan-{n}")
        made.append((f"scan-{n}.png", "image/png", png))
    made.append(("plan.docx", DOCX, docx_bytes(_lines(rng, others, 20))))
    return made


def make_child(instance: Instance, incidents: int, documents: int, work: Path) -> dict[str, Any]:
    """Make two schools, the leaving child, other children, incidents and the vault."""
    url = instance.config["PUBLIC_URL"]
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        introduce(session, sender, receiver, url)
        introduce(session, receiver, sender, url)
        subject, _other = child_with_records(session, instance, sender)
        others = [f"{OTHER_CHILD[0]} {OTHER_CHILD[1]}"]
        for n in range(len(FORENAMES)):
            pupil = Pupil(
                school_id=sender.id,
                upn=make_upn(sender.laestab, 24, 10 + n),
                forename=FORENAMES[n],
                surname=SURNAMES[n],
                date_of_birth=date(2016, 1 + n % 12, 1 + n),
            )
            session.add(pupil)
            others.append(f"{FORENAMES[n]} {SURNAMES[n]}")
        staff = StaffMember(school_id=sender.id, source_system="b", source_id="b1", name="Staff B")
        session.add(staff)
        category = find_category(session, sender, "Bullying Allegation")
        rng = random.Random(3)
        start = datetime(2024, 9, 2, 9, 0, tzinfo=UTC)
        for n in range(incidents - 1):
            incident = Incident(
                school_id=sender.id,
                pupil_id=subject.id,
                occurred_at=start + timedelta(days=n * 2),
                recorded_at=start + timedelta(days=n * 2, hours=2),
                narrative=" ".join(_lines(rng, others, 4)),
                status="open",
                author=staff,
            )
            incident.categories.append(category)
            session.add(incident)
        session.flush()
        key = pupil_data_key(session, subject, instance.instance_key)
        vault = make_vault(work, documents - 1, others)  # The kit already gave one PDF.
        for name, media, data in vault:
            blob = instance.blobs.write(key, blob_context(subject), io.BytesIO(data), 10**8)
            session.add(
                VaultDocument(
                    school_id=sender.id,
                    pupil_id=subject.id,
                    original_filename=name,
                    media_type=media,
                    size=blob.size,
                    sha256=blob.sha256,
                    storage_key=blob.storage_key,
                )
            )
        dsl = lambda school: actor(session, _dsl_id(session, school))  # noqa: E731
        return {
            "sender": sender.id,
            "receiver": receiver.id,
            "subject": subject.id,
            "vault": vault,
            "sender_dsl": _dsl_id(session, sender),
            "receiver_dsl": _dsl_id(session, receiver),
            "dsl": dsl,
        }


def _dsl_id(session: Any, school: School) -> int:
    from sqlalchemy import select

    from exchange.records.models import User

    return session.scalar(select(User.id).filter_by(school_id=school.id, role="dsl"))


def timed(label: str, timings: dict[str, float], action: Callable[[], Any]) -> Any:
    """Run action, keep its wall time under label, and return its result."""
    started = time.perf_counter()
    result = action()
    timings[label] = time.perf_counter() - started
    print(f"  ({label}: {timings[label]:.2f} s)", flush=True)  # As it happens, for long runs.
    return result


def run_service(instance: Instance, child: dict[str, Any], workers: int) -> dict[str, float]:
    """Take the child's transfer from review to the bundle written; return each stage's time."""
    from exchange.web import create_app

    t: dict[str, float] = {}
    with transaction(instance.sessions) as session:
        school = session.get(School, child["sender"])
        dsl = actor(session, child["sender_dsl"])
        partner = find_partner(session, school.id, session.get(School, child["receiver"]).urn)
        pupil = session.get(Pupil, child["subject"])
        transfer = workflow.start(
            session, instance, school, "create", dsl, pupil=pupil, partner=partner
        )
        transfer_id = transfer.id
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, child["sender_dsl"])
        timed("1 start_review: texts and documents queued", t, lambda: workflow.apply(
            session, instance, transfer, "start_review", dsl))  # fmt: skip
        pending = written_in(session)
    from exchange.outbox.models import OutboxMessage

    with instance.sessions() as session:
        row = session.get(OutboxMessage, pending[-1])
        assert row is not None
        row_id = row.id
    label = f"2 vault task: texts, {len(child['vault']) + 1} documents, {workers} processes"
    timed(label, t, lambda: redact_vault(instance, transfer_id, row_id, workers=workers))
    app = create_app(dict(instance.config))
    transport = WsgiTransport(app)
    try:
        _offer_and_accept(instance, child, transfer_id, transport)
    finally:
        app.extensions["exchange"].close()
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, child["sender_dsl"])
        workflow.apply(
            session, instance, transfer, "record_conversation", dsl,
            held_on=transfer.created_at.date(), participants="Dsl 1, Dsl 2",
            summary=f"{SUBJECT[0]} needs a trusted adult.",
        )  # fmt: skip
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, child["sender_dsl"])
        timed("3 authorise: bundle built and written", t, lambda: workflow.apply(
            session, instance, transfer, "authorise", dsl, fresh_second_factor=True))  # fmt: skip
        child["bundle"] = outbox_path(instance, transfer)
    return t


def _offer_and_accept(
    instance: Instance, child: dict[str, Any], transfer_id: int, transport: WsgiTransport
) -> None:
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        for review in _flags(session, transfer):
            resolution = "excluded" if review.kind == "document" else "confirmed"
            workflow.apply(
                session, instance, transfer, "resolve_flag", actor(session, child["sender_dsl"]),
                review_id=review.id, resolution=resolution, note="bench",
            )  # fmt: skip
        offer = workflow.apply(
            session, instance, transfer, "offer", actor(session, child["sender_dsl"])
        )
        url, uid = partner_url(transfer, "offers"), transfer.transfer_uid
    assert transport.post(url, offer).status == 202
    with transaction(instance.sessions) as session:
        received = incoming.find_transfer(session, child["receiver"], uid, "incoming")
        answer = workflow.apply(
            session, instance, received, "accept", actor(session, child["receiver_dsl"]),
            on_roll_confirmed=True,
        )  # fmt: skip
        back = partner_url(received, "offer-responses")
    assert transport.post(back, answer).status == 200


def _flags(session: Any, transfer: Transfer) -> list:
    from exchange.transfers.redaction_step import unresolved_flags

    return unresolved_flags(session, transfer)


def in_parallel(commands: Iterable[list[str]], workers: int, **options: Any) -> None:
    """Run commands, `workers` at a time."""
    with ThreadPoolExecutor(workers) as pool:
        for done in pool.map(lambda c: subprocess.run(c, check=True, **options), list(commands)):
            assert done.returncode == 0


def floor(work: Path, vault: list[tuple[str, str, bytes]], bundle: Path, workers: int) -> dict:
    """Time the tools' own work on the same files, with the same parallelism."""
    t: dict[str, float] = {}
    files = work / "floor"
    files.mkdir()
    pdfs, scans, docx = [], [], []
    for name, media, data in vault:
        path = files / name
        path.write_bytes(data)
        {"application/pdf": pdfs, "image/png": scans, DOCX: docx}[media].append(path)
    pages = files / "pages"
    pages.mkdir()
    for path in pdfs:  # Rendering is not part of the floor: tesseract reads the pages.
        subprocess.run(
            ["pdftoppm", "-gray", "-r", "200", str(path), str(pages / path.stem)], check=True
        )
    images = sorted(pages.iterdir()) + scans
    timed("qpdf rewriting every PDF", t, lambda: in_parallel(
        ([shutil.which("qpdf") or "qpdf", str(p), str(p.with_suffix(".q.pdf"))] for p in pdfs),
        workers, capture_output=True))  # fmt: skip
    timed(f"tesseract reading {len(images)} pages", t, lambda: in_parallel(
        (["tesseract", str(i), "-", "--psm", "3"] for i in images), workers,
        capture_output=True, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}))  # fmt: skip
    timed("LibreOffice converting the DOCX", t, lambda: libreoffice_pdfs(docx, files / "lo"))
    seven = shutil.which("7zz") or shutil.which("7z") or "7z"
    shutil.copy(bundle, files / "bundle-contents.bin")
    timed("7z a -tzip -mem=AES256 -mx0", t, lambda: subprocess.run(
        [seven, "a", "-tzip", "-mem=AES256", "-mx0", "-pbench-pass", str(work / "floor.zip"),
         str(files)], check=True, capture_output=True))  # fmt: skip
    return t


def main() -> int:
    """Build the child, run the service's steps, measure the floor, print both and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 incidents and 6 documents")
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--documents", type=int, default=30)
    parser.add_argument("--workers", type=int, default=0, help="0: one per usable CPU")
    args = parser.parse_args()
    incidents, documents = (30, 6) if args.quick else (args.incidents, args.documents)
    workers = pool_size(args.workers)
    with tempfile.TemporaryDirectory(prefix="sgx-whole-") as folder:
        work = Path(folder)
        (work / "make").mkdir()
        instance = open_instance(
            {
                "HOME": work / "home",
                "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
                "INSTANCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
                "LOG_LEVEL": "WARNING",
                "VAULT_WORKERS": workers,
            }
        )
        upgrade(instance.engine)
        try:
            child = make_child(instance, incidents, documents, work / "make")
            ours = run_service(instance, child, workers)
            size = Path(child["bundle"]).stat().st_size
            base = floor(work, child["vault"], Path(child["bundle"]), workers)
        finally:
            instance.close()
    total, least = sum(ours.values()), sum(base.values())
    print(
        f"child file: {incidents} incidents, {documents} documents "
        f"(bundle {size / 2**20:.1f} MiB), {workers} processes"
    )
    for label, seconds in ours.items():
        print(f"  {label:<52} {seconds:8.2f} s")
    print(f"  {'ours: review + vault + authorise':<52} {total:8.2f} s")
    print(f"floor, same files, {workers} at a time:")
    for label, seconds in base.items():
        print(f"  {label:<52} {seconds:8.2f} s")
    print(f"  {'floor total':<52} {least:8.2f} s")
    print(f"ratio ours/floor = {total / least:.2f} (target 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
