"""Fault drill: the disk fills while a bundle is written; authorising fails cleanly, then works."""

from __future__ import annotations

import errno
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from transfer_kit import Pair, accept_offer, authorise_transfer, offer_transfer

from exchange.db import transaction
from exchange.instance import Instance
from exchange.transfers import bundle_step, incoming, states
from exchange.transfers.bundle_step import BundleWriteError
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import deliver, partner_url
from exchange.transfers.models import INCOMING, Transfer

pytestmark = pytest.mark.slow

ROOM = 64 * 1024  # Bytes the "disk" takes before it is full.


class FullDisk:
    """A file that accepts ROOM bytes, then fails every write with ENOSPC, as a full disk does."""

    def __init__(self, inner: BinaryIO) -> None:
        """Wrap the real output file."""
        self.inner = inner
        self.written = 0

    def write(self, data: bytes) -> int:
        """Write until the room runs out, then raise ENOSPC."""
        if self.written + len(data) > ROOM:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.written += len(data)
        return self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def fill_the_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make bundle writing hit a full disk part-way through."""
    real = bundle_step.build_bundle

    def build_on_a_full_disk(output: BinaryIO, **kwargs: Any) -> Any:
        return real(FullDisk(output), **kwargs)

    monkeypatch.setattr(bundle_step, "build_bundle", build_on_a_full_disk)


def accepted_transfer(instance: Instance, pair: Pair, transport: WsgiTransport) -> int:
    """Offer and accept a transfer; return the sender's row id."""
    transfer_id, uid, offer = offer_transfer(instance, pair)
    with instance.sessions() as session:
        url = partner_url(session.get(Transfer, transfer_id), "offers")
    assert transport.post(url, offer).status == 202
    response = accept_offer(instance, pair, uid)
    with instance.sessions() as session:
        received = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        back = partner_url(received, "offer-responses")
    assert transport.post(back, response).status == 200
    return transfer_id


def build_folders() -> set[str]:
    """Return the private build folders (decrypted vault files) now in the temp folder."""
    return {path.name for path in Path(tempfile.gettempdir()).glob("sgx-build-*")}


@pytest.fixture
def private_temp(tmp_path: Path) -> Iterator[None]:
    """Give this test its own temporary folder: other processes' build folders come and go."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(folder))
        yield


@pytest.mark.usefixtures("private_temp")
def test_a_full_disk_fails_authorisation_cleanly_and_a_retry_succeeds(
    instance: Instance, pair: Pair, transport: WsgiTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    transfer_id = accepted_transfer(instance, pair, transport)
    before = build_folders()
    fill_the_disk(monkeypatch)

    with pytest.raises(BundleWriteError, match="the disk is full"):
        authorise_transfer(instance, pair, transfer_id)

    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.ACCEPTED  # Nothing recorded: the transaction rolled back.
        assert transfer.bundle_sha256 is None
        assert transfer.conversation_summary is None
    assert build_folders() == before  # No decrypted vault file left behind.
    outbox = instance.home / "outbox"
    assert not list(outbox.glob("*.age"))  # No bundle that looks complete.

    monkeypatch.undo()  # Space is freed.
    authorise_transfer(instance, pair, transfer_id)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.AUTHORISED
        assert (outbox / f"{transfer.transfer_uid}.age").stat().st_size == transfer.bundle_size
        assert deliver(session, instance, transfer, transport) == states.RECEIPTED


def test_a_full_disk_leaves_no_partial_bundle(
    instance: Instance, pair: Pair, transport: WsgiTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    transfer_id = accepted_transfer(instance, pair, transport)
    fill_the_disk(monkeypatch)
    with pytest.raises(BundleWriteError, match="the disk is full"):
        authorise_transfer(instance, pair, transfer_id)
    assert not list((instance.home / "outbox").glob("*.partial"))
