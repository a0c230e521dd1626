"""Disposal certificates: a compact JWS (school signing key) over canonical JSON, version 1.

Verification steps (cited in verify_certificate):
1. The token is a compact JWS with typ sgx-disposal-certificate+jws, alg Ed25519, and a kid
   naming one of the school's signing keys; its signature verifies over the signing input.
2. The payload is strict JSON (no duplicate keys) with type sgx-disposal-certificate, v 1.
3. The payload names the same key id as the header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import rfc8785
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.packaging.errors import InvalidBundle
from exchange.packaging.jws import sign_compact, strict_json, verify_compact
from exchange.packaging.keys import SigningKey, SigningPublicKey
from exchange.records.models import School, User
from exchange.retention.actors import Actor
from exchange.retention.errors import InvalidCertificate
from exchange.retention.models import DisposalCertificate, DisposalReview, PurgeRun

CERTIFICATE_TYPE = "sgx-disposal-certificate"
CERTIFICATE_TYP = "sgx-disposal-certificate+jws"
CERTIFICATE_VERSION = 1
PUPIL_REF_SCHEME = (
    "HMAC-SHA256(HKDF-SHA256(instance key, info='sgx retention pupil reference v1|school:<id>'),"
    " upper-case UPN), hex, prefixed pref1_"
)


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def certificate_payload(
    run: PurgeRun, school: School, key_id: str, issued_at: datetime
) -> dict[str, Any]:
    """Return the certificate body of a finished run, from its committed counts."""
    counts = run.counts or {}
    pupils = [
        {"ref": ref, **value} for ref, value in sorted(dict(counts.get("pupils", {})).items())
    ]
    return {
        "type": CERTIFICATE_TYPE,
        "v": CERTIFICATE_VERSION,
        "school": {"urn": school.urn, "laestab": school.laestab},
        "run": run.id,
        "as_of": run.as_of.isoformat(),
        "started_at": _time(run.started_at),
        "issued_at": _time(issued_at),
        "rule_set_version": run.rule_set_version,
        "rules": dict(sorted(dict(counts.get("rules", {})).items())),
        "totals": dict(sorted(dict(counts.get("totals", {})).items())),
        "incidents_by_category": dict(
            sorted(dict(counts.get("incidents_by_category", {})).items())
        ),
        "documents_by_type": dict(sorted(dict(counts.get("documents_by_type", {})).items())),
        "pupils": pupils,
        "pupil_ref_scheme": PUPIL_REF_SCHEME,
        "signing_key_id": key_id,
    }


def disposition(session: Session, run: PurgeRun) -> dict[str, Any]:
    """Return how the run's records were approved: automatically, or by which DPO reviews."""
    counts = run.counts or {}
    mode = str(counts.get("disposition", "review"))
    ids = [int(review_id) for review_id in counts.get("reviews") or []]
    reviews = []
    if ids:
        rows = session.scalars(
            select(DisposalReview).where(DisposalReview.id.in_(ids)).order_by(DisposalReview.id)
        )
        for row in rows:
            approver = session.get(User, row.decided_by_user_id)
            reviews.append(
                {
                    "review": row.id,
                    "pupil_ref": row.pupil_ref,
                    "approved_at": _time(row.decided_at),
                    "approved_by": {
                        "user_id": row.decided_by_user_id,
                        "name": approver.name if approver else None,
                        "role": approver.role if approver else None,
                    },
                    "window_until": row.window_until.isoformat(),
                }
            )
    return {"mode": mode, "reviews": reviews}


def sign_certificate(payload: dict[str, Any], key: SigningKey) -> str:
    """Return the compact JWS of the canonical payload."""
    return sign_compact(rfc8785.dumps(payload), key, CERTIFICATE_TYP)


def verify_certificate(token: str, keys: Sequence[SigningPublicKey]) -> dict[str, Any]:
    """Check a certificate against the school's public keys; return its payload or raise."""
    try:
        header, raw = verify_compact(token, keys, CERTIFICATE_TYP, "certificate step 1")
        payload = strict_json(raw, "certificate step 2: the payload")
    except InvalidBundle as exc:
        raise InvalidCertificate(
            str(exc).replace("manifest.jws", "the certificate").replace("manifest", "certificate")
        ) from exc
    if not isinstance(payload, dict) or payload.get("type") != CERTIFICATE_TYPE:
        raise InvalidCertificate("certificate step 2: not a disposal certificate")
    if payload.get("v") != CERTIFICATE_VERSION:
        raise InvalidCertificate(f"certificate step 2: unsupported version {payload.get('v')!r}")
    if payload.get("signing_key_id") != header.get("kid"):
        raise InvalidCertificate("certificate step 3: the payload names another signing key")
    return payload


def issue_certificate(
    session: Session, run: PurgeRun, key: SigningKey, actor: Actor, issued_at: datetime
) -> DisposalCertificate:
    """Sign and store the certificate of a finished run and enter it in the audit log."""
    school = session.get(School, run.school_id)
    payload = certificate_payload(run, school, key.key_id, issued_at)
    payload["disposition"] = disposition(session, run)
    token = sign_certificate(payload, key)
    row = DisposalCertificate(
        school_id=run.school_id,
        run_id=run.id,
        issued_at=issued_at,
        key_id=key.key_id,
        jws=token,
        payload_sha256=hashlib.sha256(rfc8785.dumps(payload)).hexdigest(),
    )
    session.add(row)
    session.flush()
    totals = payload["totals"]
    record_event(
        session,
        run.school_id,
        actor.user_id,
        actor.role,
        "retention.disposal_certified",
        "disposal_certificate",
        str(row.id),
        details={
            "run_id": run.id,
            "rule_set_version": run.rule_set_version,
            "incidents": totals.get("incidents", 0),
            "documents": totals.get("documents", 0),
            "pupils_removed": totals.get("pupils_removed", 0),
            "payload_sha256": row.payload_sha256,
        },
    )
    return row
