"""An offline transfer from the service: titles redacted, roles and categories kept, form signed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from offline_v2_kit import open_with_7zip, pdf_text, read_csv
from sqlalchemy import select
from transfer_kit import (
    OTHER_CHILD,
    SUBJECT,
    actor,
    child_with_records,
    school_with_keys,
    start_review,
)

from exchange.db import transaction
from exchange.instance import Instance
from exchange.packaging import offline
from exchange.partners.service import enrol_partner, own_card
from exchange.policy.service import transfer_class_of
from exchange.records.models import Incident, StaffMember, User, VaultDocument
from exchange.transfers import workflow

TITLE = f"Core group minutes - {OTHER_CHILD[0]} {OTHER_CHILD[1]} and {SUBJECT[0]}.docx"


def _export(instance: Instance) -> tuple[offline.OfflineExport, str, str | None]:
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        partner = enrol_partner(session, sender.id, own_card(session, receiver, None))
        subject, _ = child_with_records(session, instance, sender)
        document = session.scalar(select(VaultDocument).filter_by(pupil_id=subject.id))
        document.original_filename = TITLE
        session.scalar(
            select(StaffMember).filter_by(school_id=sender.id)
        ).job_title = "Class teacher"
        category = session.scalar(select(Incident).filter_by(pupil_id=subject.id)).categories[0]
        dsl = actor(
            session, session.scalar(select(User.id).filter_by(school_id=sender.id, role="dsl"))
        )
        transfer = workflow.start(
            session, instance, sender, "create", dsl, pupil=subject, partner=partner
        )
        start_review(session, instance, transfer, dsl)
        workflow.apply(
            session,
            instance,
            transfer,
            "record_conversation",
            dsl,
            held_on=transfer.created_at.date(),
            participants="Dsl 1, Dsl 2",
            summary="Needs support.",
        )
        workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=True)
        package = workflow.apply(session, instance, transfer, "export", dsl)
        return package, category.path, transfer_class_of(category)


def test_the_receiver_gets_titles_roles_categories_and_a_signed_form(
    instance: Instance, tmp_path: Path
) -> None:
    package, category, shared = _export(instance)
    assert shared is not None
    opened = open_with_7zip(package.path, package.passphrase, tmp_path / "opened")

    documents = sorted(p.name for p in (opened / "documents").iterdir())
    assert len(documents) == 1
    assert documents[0].startswith("Core group minutes - [")
    assert documents[0].endswith(f"and {SUBJECT[0]}.pdf")  # The redacted form is a PDF.

    rows = read_csv(opened / offline.CSV_NAME)
    assert len(rows) == 1
    assert rows[0]["author role"] == "Class teacher"
    assert rows[0]["category"] == category
    assert rows[0]["date"] == "2026-10-01"
    assert rows[0]["time"] == "11:30"  # 10:30 UTC is 11:30 in London in October.
    assert rows[0]["shared category"] == shared
    chronology = json.loads((opened / offline.JSON_NAME).read_text(encoding="utf-8"))
    assert chronology["incidents"][0]["shared_category"] == shared
    assert chronology["documents"][0]["category"] == category
    assert chronology["documents"][0]["file"] == f"{offline.DOCUMENTS_NAME}/{documents[0]}"
    index = {row["file"]: row for row in read_csv(opened / offline.INDEX_NAME)}
    assert index[f"{offline.DOCUMENTS_NAME}/{documents[0]}"]["category"] == category

    # Our own search, independent of the redaction's check: no other child's name anywhere.
    texts = [p.as_posix() for p in opened.rglob("*")]
    for path in opened.rglob("*"):
        if path.suffix in (".csv", ".json", ".txt", ".pem"):
            texts.append(path.read_text(encoding="utf-8-sig"))
        elif path.suffix == ".pdf":
            texts.append(pdf_text(path))
    found = "\n".join(texts).casefold()
    for name in OTHER_CHILD:
        assert name.casefold() not in found
    assert SUBJECT[0].casefold() in found  # The search itself would see a name.

    validated = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyhanko",
            "sign",
            "validate",
            "--executive-summary",
            "--no-revocation-check",
            "--trust-replace",
            "--trust",
            str(opened / offline.CERTIFICATE_NAME),
            str(opened / offline.FORM_NAME),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stdout.strip().endswith(":VALID")
