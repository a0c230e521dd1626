"""Disposal certificates: signature verifies (also with OpenSSL), fails when altered; PDF; lease."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pypdfium2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.models import AuditEntry
from exchange.db import transaction, utcnow
from exchange.instance import Instance
from exchange.packaging.keys import SigningKey, all_public_keys, public_key_of
from exchange.retention import lease
from exchange.retention.certificate import verify_certificate
from exchange.retention.certificate_pdf import render_certificate_pdf
from exchange.retention.errors import InvalidCertificate, PurgeBusy
from exchange.retention.models import DisposalCertificate, PurgeLease
from exchange.retention.purge import purge_school
from tests.retention.support import World, add_document, add_incident, add_pupil, date_all

NOW = datetime(2026, 1, 2, 12, tzinfo=UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def certificate(rinstance: Instance, world: World, session: Session) -> DisposalCertificate:
    """Purge two pupils' files and return the certificate."""
    for _ in range(2):
        child = add_pupil(session, world, date(1994, 1, 1))  # SEN: kept to the 31st birthday.
        incident = add_incident(session, world, child, ("SEN/EHCP review", "Bullying"))
        add_document(session, rinstance, child, b"%PDF plan", incident=incident)
        date_all(session, world, child)
    session.commit()
    result = purge_school(
        rinstance.sessions, rinstance.blobs, rinstance.instance_key, world.school.id, now=NOW
    )
    return session.get(DisposalCertificate, result.certificate_ids[0])


def _keys(session: Session, world: World) -> list:  # type: ignore[type-arg]
    return [public_key_of(row) for row in all_public_keys(session, world.school.id, "signing")]


def test_the_certificate_verifies_and_says_what_went(
    certificate: DisposalCertificate, session: Session, world: World
) -> None:
    payload = verify_certificate(certificate.jws, _keys(session, world))
    assert payload["type"] == "sgx-disposal-certificate"
    assert payload["as_of"] == "2026-01-02"
    assert payload["rule_set_version"] == 0
    assert payload["rules"] == {"dob+31y": 2}
    assert payload["incidents_by_category"] == {"Bullying": 2, "SEN/EHCP review": 2}
    assert payload["documents_by_type"] == {"application/pdf": 2}
    assert payload["totals"]["pupils_removed"] == 2
    assert len({p["ref"] for p in payload["pupils"]}) == 2
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.event == "retention.disposal_certified")
    ).one()
    assert entry.object_id == str(certificate.id)


def test_an_altered_certificate_fails(
    certificate: DisposalCertificate, session: Session, world: World
) -> None:
    header, payload, signature = certificate.jws.split(".")
    body = base64.urlsafe_b64decode(payload + "==").replace(b'"incidents":2', b'"incidents":1')
    with pytest.raises(InvalidCertificate, match="does not verify"):
        verify_certificate(f"{header}.{_b64(body)}.{signature}", _keys(session, world))
    with pytest.raises(InvalidCertificate, match="not a known signing key"):
        verify_certificate(certificate.jws, [SigningKey.generate().public])
    with pytest.raises(InvalidCertificate):
        verify_certificate(certificate.jws + "x", _keys(session, world))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_the_signature(
    certificate: DisposalCertificate, session: Session, world: World, tmp_path: Path
) -> None:
    header, payload, signature = certificate.jws.split(".")
    (tmp_path / "input").write_bytes(f"{header}.{payload}".encode())
    (tmp_path / "sig").write_bytes(base64.urlsafe_b64decode(signature + "=="))
    (tmp_path / "key.pem").write_bytes(_keys(session, world)[0].to_pem())
    command = [
        "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "key.pem"),
        "-rawin", "-in", str(tmp_path / "input"), "-sigfile", str(tmp_path / "sig"),
    ]  # fmt: skip
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    (tmp_path / "input").write_bytes(f"{header}.{payload}x".encode())
    assert subprocess.run(command, capture_output=True, check=False).returncode != 0


def test_the_pdf_shows_the_counts_and_references(
    certificate: DisposalCertificate, session: Session, world: World
) -> None:
    payload = verify_certificate(certificate.jws, _keys(session, world))
    pdf = pypdfium2.PdfDocument(render_certificate_pdf(payload, certificate.jws))
    words = "".join(page.get_textpage().get_text_range() for page in pdf)
    pdf.close()
    assert "Certificate of disposal" in words
    assert "SEN/EHCP review" in words
    assert payload["pupils"][0]["ref"] in words.replace("\r", "").replace("\n", "")


def test_the_pdf_is_tagged_for_screen_readers(
    certificate: DisposalCertificate, session: Session, world: World, tmp_path: Path
) -> None:
    """poppler reads its headings and table cells as structure, like the chronology's."""
    pdfinfo = shutil.which("pdfinfo") or pytest.skip("pdfinfo (poppler-utils) is not installed")
    payload = verify_certificate(certificate.jws, _keys(session, world))
    path = tmp_path / "certificate.pdf"
    path.write_bytes(render_certificate_pdf(payload, certificate.jws))
    command = [pdfinfo, "-struct-text", str(path)]
    structure = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert re.search(r'H1 \(block\)\s+"Certificate of disposal"', structure)
    assert re.search(r'TH\s+P \(block\)\s+"Pupil reference"', structure)
    assert payload["pupils"][0]["ref"][:12] in structure


def test_a_second_purger_is_refused_until_the_lease_expires(
    rinstance: Instance, world: World, session: Session
) -> None:
    name = lease.lease_name(world.school.id)
    assert lease.acquire(rinstance.sessions, name, "another-worker")
    with pytest.raises(PurgeBusy):
        purge_school(
            rinstance.sessions, rinstance.blobs, rinstance.instance_key, world.school.id, now=NOW
        )
    with transaction(rinstance.sessions) as writing:
        writing.get(PurgeLease, name).expires_at = utcnow() - timedelta(seconds=1)
    result = purge_school(
        rinstance.sessions, rinstance.blobs, rinstance.instance_key, world.school.id, now=NOW
    )
    assert len(result.run_ids) == 1
    session.expire_all()
    assert session.get(PurgeLease, name).owner is None
