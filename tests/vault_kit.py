"""Vault documents for the vault tests, and a review started without running its task."""

from __future__ import annotations

import io

from transfer_kit import OTHER_CHILD, Pair, actor, make_pdf

from exchange.db import transaction
from exchange.instance import Instance
from exchange.outbox.service import written_in
from exchange.partners.service import find_partner
from exchange.records.models import Pupil, School, VaultDocument
from exchange.transfers import workflow
from exchange.transfers.models import Transfer
from exchange.vault.pupil_keys import blob_context, pupil_data_key


def add_vault_pdfs(instance: Instance, pupil_id: int, count: int) -> None:
    """Put `count` one-page PDFs naming the other child in the child's vault."""
    with transaction(instance.sessions) as session:
        pupil = session.get(Pupil, pupil_id)
        key = pupil_data_key(session, pupil, instance.instance_key)
        for number in range(count):
            data = make_pdf([f"Note {number}", f"{OTHER_CHILD[0]} {OTHER_CHILD[1]} was there."])
            blob = instance.blobs.write(key, blob_context(pupil), io.BytesIO(data), 10**7)
            session.add(
                VaultDocument(
                    school_id=pupil.school_id,
                    pupil_id=pupil.id,
                    original_filename=f"note-{number}.pdf",
                    media_type="application/pdf",
                    size=blob.size,
                    sha256=blob.sha256,
                    storage_key=blob.storage_key,
                )
            )


def review_without_running(
    instance: Instance, pair: Pair, transfer_id: int | None = None
) -> tuple[int, list]:
    """Start (or restart) the review; return the transfer id and the outbox ids written."""
    with transaction(instance.sessions) as session:
        dsl = actor(session, pair.sender_dsl_id)
        if transfer_id is None:
            school = session.get(School, pair.sender_id)
            partner = find_partner(session, school.id, session.get(School, pair.receiver_id).urn)
            transfer = workflow.start(
                session,
                instance,
                school,
                "create",
                dsl,
                pupil=session.get(Pupil, pair.pupil_id),
                partner=partner,
            )
        else:
            transfer = session.get(Transfer, transfer_id)
            workflow.apply(session, instance, transfer, "back_to_draft", dsl)
        workflow.apply(session, instance, transfer, "start_review", dsl)
        return transfer.id, written_in(session)
