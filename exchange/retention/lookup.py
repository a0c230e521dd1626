"""From a UPN to the child's transfers, receipts, holds and disposal certificates.

It works after the purge: the minimal transfer records keep the UPN, and each certificate
names the child by the reference the school recomputes from the UPN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from exchange.errors import ExchangeError
from exchange.packaging.keys import KIND_SIGNING, all_public_keys, public_key_of
from exchange.records.models import Incident, Pupil, VaultDocument
from exchange.records.sealed_reads import upn_is
from exchange.records.upn import validate_upn
from exchange.retention.certificate import verify_certificate
from exchange.retention.models import DisposalCertificate, LegalHold
from exchange.retention.refs import pupil_ref, school_secret
from exchange.transfers.models import Transfer


@dataclass(frozen=True)
class Disposal:
    """One certificate that names the child: what it destroyed of them."""

    certificate: DisposalCertificate
    as_of: str
    incidents: int
    documents: int
    whole_file: bool


@dataclass
class ChildTrail:
    """What the school can say about a UPN: held records, transfers, holds, disposals."""

    upn: str
    ref: str
    on_record: bool
    incidents: int = 0
    documents: int = 0
    transfers: list[Transfer] = field(default_factory=list)
    holds: list[LegalHold] = field(default_factory=list)
    disposals: list[Disposal] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)

    @property
    def destroyed(self) -> bool:
        """Return whether the whole file was destroyed and nothing of it is held now."""
        return not self.on_record and any(d.whole_file for d in self.disposals)


def _certificates(session: Session, school_id: int) -> list[DisposalCertificate]:
    return list(
        session.scalars(
            select(DisposalCertificate)
            .where(DisposalCertificate.school_id == school_id)
            .order_by(DisposalCertificate.id)
        )
    )


def trail(session: Session, school_id: int, instance_key: bytes, upn_text: str) -> ChildTrail:
    """Return the child's trail; raise ValidationError for a malformed UPN."""
    upn = validate_upn(upn_text.replace(" ", ""))
    ref = pupil_ref(school_secret(instance_key, school_id), upn)
    pupil_id = session.scalar(
        select(Pupil.id).where(Pupil.school_id == school_id, upn_is(session, school_id, upn))
    )
    found = ChildTrail(upn, ref, pupil_id is not None)
    match = Transfer.pupil_upn == upn
    if pupil_id is not None:
        match = or_(match, Transfer.pupil_id == pupil_id)
        for model, name in ((Incident, "incidents"), (VaultDocument, "documents")):
            count = session.scalar(
                select(func.count()).where(model.school_id == school_id, model.pupil_id == pupil_id)
            )
            setattr(found, name, count or 0)
        found.holds = list(
            session.scalars(
                select(LegalHold)
                .where(LegalHold.school_id == school_id, LegalHold.pupil_id == pupil_id)
                .order_by(LegalHold.id)
            )
        )
    found.transfers = list(
        session.scalars(
            select(Transfer).where(Transfer.school_id == school_id, match).order_by(Transfer.id)
        )
    )
    keys = [public_key_of(key) for key in all_public_keys(session, school_id, KIND_SIGNING)]
    for row in _certificates(session, school_id):
        try:
            payload = verify_certificate(row.jws, keys)  # type: ignore[arg-type]
        except ExchangeError:
            found.unreadable.append(row.id)
            continue
        for pupil in payload.get("pupils", []):
            if pupil.get("ref") == ref:
                found.disposals.append(_disposal(row, payload, pupil))
    return found


def _disposal(row: DisposalCertificate, payload: dict[str, Any], pupil: dict[str, Any]) -> Disposal:
    return Disposal(
        row,
        str(payload.get("as_of", "")),
        int(pupil.get("incidents", 0)),
        int(pupil.get("documents", 0)),
        bool(pupil.get("whole_file")),
    )
