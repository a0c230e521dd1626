"""Crashes the fuzzers found: each input must give a clean typed error.

Each unfixed one is xfail(strict=True) and listed in fuzz_kit.KNOWN_CRASHES; the fix removes both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_fuzz_messages import _pack, _receipt_payload

from exchange.receipts.evidence import InvalidEvidence, verify_pack


@pytest.mark.xfail(
    strict=True,
    reason="verify_pack calls int() on the countersignature's iat unchecked: TypeError",
)
def test_evidence_pack_with_a_null_iat(tmp_path: Path) -> None:
    folder = _pack(tmp_path / "pack", _receipt_payload(), {"iat": None})
    with pytest.raises(InvalidEvidence):
        verify_pack(folder)


@pytest.mark.xfail(
    strict=True,
    reason="verify_pack calls int() on the countersignature's iat unchecked: ValueError",
)
def test_evidence_pack_with_a_text_iat(tmp_path: Path) -> None:
    folder = _pack(tmp_path / "pack", _receipt_payload(), {"iat": "soon"})
    with pytest.raises(InvalidEvidence):
        verify_pack(folder)


@pytest.mark.xfail(
    strict=True,
    reason="verify_pack reads receipt.jws with read_text(): UnicodeDecodeError on non-UTF-8",
)
def test_evidence_pack_with_a_non_utf8_receipt(tmp_path: Path) -> None:
    folder = _pack(tmp_path / "pack", _receipt_payload(), {})
    (folder / "receipt.jws").write_bytes(b"\xe5" + (folder / "receipt.jws").read_bytes())
    with pytest.raises(InvalidEvidence):
        verify_pack(folder)
