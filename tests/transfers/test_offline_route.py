"""The offline route: a zip that 7-Zip opens, confirmed by the receipt code inside it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from transfer_kit import OTHER_CHILD, actor, child_with_records, school_with_keys, start_review

from exchange.db import transaction
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.jws import verify
from exchange.packaging.keys import KIND_SIGNING, all_public_keys, public_key_of
from exchange.partners.service import enrol_partner, own_card
from exchange.records.models import User
from exchange.transfers import states, workflow
from exchange.transfers.models import Transfer
from exchange.transfers.offline_route import OFFLINE_RECEIPT

SEVEN_ZIP = shutil.which("7zz") or shutil.which("7z")


@pytest.mark.skipif(
    SEVEN_ZIP is None, reason="7-Zip is not installed (scripts/setup.sh installs it)"
)
def test_an_offline_transfer_opens_in_7zip_and_closes_with_its_code(
    instance: Instance, tmp_path: Path
) -> None:
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        partner = enrol_partner(session, sender.id, own_card(session, receiver, None))
        subject, _ = child_with_records(session, instance, sender)
        dsl = actor(
            session, session.scalar(select(User.id).filter_by(school_id=sender.id, role="dsl"))
        )
        transfer = workflow.start(
            session, instance, sender, "create", dsl, pupil=subject, partner=partner
        )
        assert transfer.route == "offline"
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
        transfer_id, sender_id = transfer.id, sender.id
    assert package.passphrase not in repr(package)
    assert len(package.passphrase.split("-")) >= 8  # 8 words of a 1,537-word list: 84 bits
    out = tmp_path / "opened"
    subprocess.run(
        [SEVEN_ZIP, "x", f"-p{package.passphrase}", f"-o{out}", str(package.path)],
        check=True,
        capture_output=True,
    )
    names = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert names == [
        "00-transfer-form.pdf",
        "01-chronology.pdf",
        "02-receipt-code.txt",
        "03-chronology.json",
        "04-chronology.csv",
        "05-documents.zip",
        "06-index.csv",
        "07-README.txt",
        "08-signing-certificate.pem",
        "09-chronology.schema.json",
    ]
    form = subprocess.run(
        ["pdftotext", str(out / "00-transfer-form.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in OTHER_CHILD:
        assert name not in form
    code = re.search(r"Receipt code: (\S+)", (out / "02-receipt-code.txt").read_text()).group(1)

    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        with pytest.raises(ValidationError, match="does not match"):
            workflow.apply(
                session,
                instance,
                transfer,
                "confirm_receipt_code",
                dsl,
                code="0000-0000-0000-0000",
                confirmed_by="Dsl 2, Flow School 2",
            )
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.EXPORTED
        record = workflow.apply(
            session,
            instance,
            transfer,
            "confirm_receipt_code",
            dsl,
            code=code.lower(),
            confirmed_by="Dsl 2, Flow School 2",
        )
        assert transfer.state == states.CLOSED
        assert not package.path.exists()  # The sender keeps the zip's hash, not the zip.
        keys = {
            row.key_id: public_key_of(row)
            for row in all_public_keys(session, sender_id, KIND_SIGNING)
        }
        assert verify(record, keys, OFFLINE_RECEIPT)["confirmed_by"] == "Dsl 2, Flow School 2"
