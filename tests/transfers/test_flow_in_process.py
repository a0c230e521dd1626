"""A whole transfer between two schools on one instance, through the real API handlers."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from transfer_kit import OTHER_CHILD, SUBJECT, Pair, run_transfer

from exchange.instance import Instance
from exchange.receipts.evidence import InvalidEvidence, verify_pack
from exchange.receipts.service import export_pack
from exchange.records.models import Incident, Pupil, VaultDocument
from exchange.transfers import incoming, states
from exchange.transfers.client import WsgiTransport
from exchange.transfers.models import INCOMING, Transfer
from exchange.vault.pupil_keys import blob_context, pupil_data_key


def test_a_transfer_goes_from_draft_to_closed_at_both_schools(
    instance: Instance, pair: Pair, transport: WsgiTransport, tmp_path: Path
) -> None:
    transfer_id = run_transfer(instance, pair, transport)
    with instance.sessions() as session:
        sent = session.get(Transfer, transfer_id)
        got = incoming.find_transfer(session, pair.receiver_id, sent.transfer_uid, INCOMING)
        assert sent.state == states.CLOSED
        assert got.state == states.CLOSED
        assert sent.file_count == 4  # chronology.json and .pdf, conversation.json, one PDF
        assert got.receipt_jws == sent.receipt_jws
        assert got.countersignature_jws == sent.countersignature_jws
        child = session.get(Pupil, got.pupil_id)
        assert (child.school_id, child.upn) == (pair.receiver_id, sent.pupil_upn)
        incidents = session.scalars(select(Incident).filter_by(pupil_id=child.id)).all()
        narratives = " ".join(i.narrative for i in incidents)
        assert "[Child A]" in narratives
        assert SUBJECT[0] in narratives
        for name in OTHER_CHILD:
            assert name not in narratives
            assert name not in (got.conversation_summary or "")
        documents = session.scalars(select(VaultDocument).filter_by(pupil_id=child.id)).all()
        assert len(documents) == 2  # The chronology PDF and the redacted minutes.
        key = pupil_data_key(session, child, instance.instance_key)
        for document in documents:
            path = tmp_path / f"{document.id}.pdf"
            path.write_bytes(
                instance.blobs.read_all(key, blob_context(child), document.storage_key)
            )
            text = subprocess.run(
                ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
            ).stdout
            for name in OTHER_CHILD:
                assert name not in text


def test_the_evidence_pack_verifies_offline_and_with_openssl(
    instance: Instance, pair: Pair, transport: WsgiTransport, tmp_path: Path
) -> None:
    transfer_id = run_transfer(instance, pair, transport)
    with instance.sessions() as session:
        pack = export_pack(session, session.get(Transfer, transfer_id), tmp_path / "pack")
    evidence = verify_pack(pack)
    assert evidence.receipt.disposition == "complete"
    for name, pem in (("receipt", "receiver"), ("countersignature", "sender")):
        subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-rawin",
                "-pubin",
                "-inkey",
                str(pack / f"{pem}-signing.pem"),
                "-in",
                str(pack / f"{name}.signing-input"),
                "-sigfile",
                str(pack / f"{name}.sig"),
            ],
            check=True,
            capture_output=True,
        )
    text = subprocess.run(
        ["pdftotext", str(pack / "receipt.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert evidence.receipt.transfer_id in text
    structure = subprocess.run(
        ["pdfinfo", "-struct-text", str(pack / "receipt.pdf")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert '"Receipt of a safeguarding file transfer"' in structure
    assert '"Files received"' in structure  # a row header (TH) of the tagged table
    header, payload, signature = (pack / "receipt.jws").read_text().strip().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["file_count"] += 1
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    (pack / "receipt.jws").write_text(f"{header}.{forged}.{signature}\n")
    with pytest.raises(InvalidEvidence, match="differs from SHA256SUMS"):
        verify_pack(pack)
    (pack / "SHA256SUMS").unlink()  # Read as a format 1 pack: the signature still fails.
    (pack / "receipt.signing-input").write_bytes(f"{header}.{forged}".encode())
    with pytest.raises(InvalidEvidence, match="signature does not verify"):
        verify_pack(pack)


def test_the_sender_drops_its_ciphertext_once_the_transfer_is_closed(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id = run_transfer(instance, pair, transport)
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.CLOSED
        assert transfer.bundle_sha256  # The hash of what was sent is kept for evidence.
    assert not list((instance.home / "outbox").glob("*.age"))
