"""Make (or, with --check, compare) the protocol test vectors: messages and a receipt pair.

The keys are the RFC 8032 section 7.1 test keys 1 (school A, sending) and 2 (school B,
receiving): public test values, never to be used for anything real. Ed25519 signatures are
deterministic, so every JWS here is reproducible byte for byte.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from exchange.packaging.keys import SigningKey
from exchange.receipts.receipt import Receipt, sha256_text
from exchange.transfers.messages import (
    BUNDLE_UPLOAD,
    COUNTERSIGNATURE,
    NOTICE,
    OFFER,
    OFFER_RESPONSE,
    RECEIPT,
    sign_message,
)

HERE = Path(__file__).parent
SEED_A = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SEED_B = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b4a319f35aba624da8cf6ed4fb8a6fb")
URN_A, URN_B = "999101", "999102"
TRANSFER = "0b7c2f3e-5d41-4a8e-9c1b-2f6d8e4a7b90"
T0 = 1795000000


def build() -> dict[str, object]:
    """Return every vector: keys, messages and their payloads."""
    a, b = SigningKey.from_raw(SEED_A), SigningKey.from_raw(SEED_B)
    offer = sign_message(
        {
            "transfer_id": TRANSFER,
            "sender": {"urn": URN_A, "laestab": "9990101", "name": "Example Sending School"},
            "recipient": {"urn": URN_B, "laestab": "9990102"},
            "pupil": {"upn": "B801200005001", "date_of_birth": "2016-04-02"},
            "leaving_date": "2026-11-20",
            "expires_at": "2026-12-04T09:00:00+00:00",
        },
        a,
        OFFER,
        URN_A,
        URN_B,
        message_id="00" * 16,
        issued_at=T0,
    )
    response = sign_message(
        {
            "transfer_id": TRANSFER,
            "offer_sha256": sha256_text(offer),
            "decision": "accept",
            "reason": None,
        },
        b,
        OFFER_RESPONSE,
        URN_B,
        URN_A,
        message_id="01" * 16,
        issued_at=T0 + 60,
    )
    upload = sign_message(
        {"transfer_id": TRANSFER, "ciphertext_sha256": "ab" * 32, "size": 1234},
        a,
        BUNDLE_UPLOAD,
        URN_A,
        URN_B,
        message_id="02" * 16,
        issued_at=T0 + 120,
    )
    receipt = sign_message(
        Receipt(
            transfer_id=TRANSFER,
            offer_sha256=sha256_text(offer),
            ciphertext_sha256="ab" * 32,
            manifest_sha256="cd" * 32,
            file_count=4,
            disposition="complete",
            missing=(),
            reason=None,
            received_at="2026-11-20T10:02:00+00:00",
            signing_key_id=b.key_id,
            checkpoint=None,
        ).body(),
        b,
        RECEIPT,
        URN_B,
        URN_A,
        message_id="03" * 16,
        issued_at=T0 + 125,
    )
    countersignature = sign_message(
        {
            "transfer_id": TRANSFER,
            "receipt_sha256": sha256_text(receipt),
            "receipt": receipt,
            "verified": True,
            "checkpoint": None,
        },
        a,
        COUNTERSIGNATURE,
        URN_A,
        URN_B,
        message_id="04" * 16,
        issued_at=T0 + 130,
    )
    notices = _notices(a, b, sha256_text(offer))
    return {
        "keys": {
            "school_a": {
                "urn": URN_A,
                "seed_hex": SEED_A.hex(),
                "key_id": a.key_id,
                "public_pem": a.public.to_pem().decode(),
            },
            "school_b": {
                "urn": URN_B,
                "seed_hex": SEED_B.hex(),
                "key_id": b.key_id,
                "public_pem": b.public.to_pem().decode(),
            },
        },
        "messages": {
            "offer": offer,
            "offer_response": response,
            "bundle_upload": upload,
            "receipt": receipt,
            "countersignature": countersignature,
            **notices,
        },
    }


def _notices(a: SigningKey, b: SigningKey, offer_sha256: str) -> dict[str, str]:
    """Return the 1.1 to 1.3 vectors: notices, a re-offer, an offer that names the child."""

    def notice(key: SigningKey, kind: str, reason: str | None, number: int, **extra: object) -> str:
        sender, to = (URN_A, URN_B) if key is a else (URN_B, URN_A)
        body = {"transfer_id": TRANSFER, "offer_sha256": offer_sha256, "notice": kind}
        return sign_message(
            {**body, "reason": reason, **extra},
            key,
            NOTICE,
            sender,
            to,
            message_id=f"{number:02d}" * 16,
            issued_at=T0 + 200 + number,
        )

    reoffer = sign_message(
        {
            "transfer_id": "5e0c8a1d-7b2f-4c3e-8d9a-1f4b6c2e8a70",
            "sender": {"urn": URN_A, "laestab": "9990101", "name": "Example Sending School"},
            "recipient": {"urn": URN_B, "laestab": "9990102"},
            "pupil": {"upn": "B801200005001", "date_of_birth": "2016-04-02"},
            "leaving_date": "2026-11-20",
            "expires_at": "2026-12-11T09:00:00+00:00",
            "follows": {"transfer_id": TRANSFER, "answer": "The start date is now confirmed."},
        },
        a,
        OFFER,
        URN_A,
        URN_B,
        message_id="08" * 16,
        issued_at=T0 + 300,
    )
    named = sign_message(
        {
            "transfer_id": "7d3e9b2a-4c1f-4e8b-a6d2-9c0f3b5e1a84",
            "sender": {"urn": URN_A, "laestab": "9990101", "name": "Example Sending School"},
            "recipient": {"urn": URN_B, "laestab": "9990102"},
            "pupil": {
                "upn": "B801200005001",
                "date_of_birth": "2016-04-02",
                "name": {"given": "Example", "family": "Testchild"},
            },
            "leaving_date": "2026-11-20",
            "expires_at": "2026-12-04T09:00:00+00:00",
        },
        a,
        OFFER,
        URN_A,
        URN_B,
        message_id="10" * 16,
        issued_at=T0 + 310,
    )
    return {
        "offer_named": named,
        "withdrawal": notice(a, "withdrawal", "The family is no longer moving.", 5),
        "recall": notice(a, "recall", "Sent to the wrong school.", 6),
        "destruction": notice(
            b, "destruction", None, 7, destroyed={"incidents": 3, "documents": 2}
        ),
        "reoffer": reoffer,
        "acknowledged": notice(
            b,
            "acknowledged",
            None,
            9,
            acknowledged={"on": "2026-11-23", "actions": ["read", "senco"]},
        ),
    }


def main() -> int:
    """Write vectors.json, or compare it with --check."""
    target = HERE / "vectors.json"
    text = json.dumps(build(), indent=2, sort_keys=True) + "\n"
    if "--check" in sys.argv:
        if target.read_text() != text:
            print("vectors.json differs from what the code makes", file=sys.stderr)
            return 1
        print("vectors match")
        return 0
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
