"""Wrapping-key epochs: the keys that wrap pupil data keys live in files, not the database.

Each epoch has a random 256-bit wrapping key in the instance's key directory
(``HOME/wrapping-keys/epoch-NNNNNN.key``), itself wrapped by the instance key. Every pupil
data key is wrapped under the current (highest) epoch. After a purge destroys pupil keys,
the keys are rewrapped under a new epoch and the old epoch's file is overwritten and removed
(exchange.vault.rotation): a database backup taken before the purge then holds the purged
pupil's data key wrapped under a key that no longer exists anywhere, even with the instance
key. A wrapping_epoch of None is the wrapping before epochs: under the instance key itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from exchange.errors import CryptoError
from exchange.vault.crypto import new_key, unwrap_key, wrap_key

DIRECTORY = "wrapping-keys"
KEY_DIR_INFO = "wrapping_key_dir"
ROTATION_PENDING = "rotation-pending"
_NAME = re.compile(r"epoch-(\d{6})\.key")


def key_directory(home: Path) -> Path:
    """Return the instance's wrapping-key directory."""
    return Path(home) / DIRECTORY


def _file_context(epoch: int) -> bytes:
    return f"sgx wrapping epoch v1|epoch:{epoch}".encode()


def pupil_key_context(base: bytes, epoch: int | None) -> bytes:
    """Return the wrapping context of a pupil key under an epoch (the base alone before epochs)."""
    return base if epoch is None else base + f"|epoch:{epoch}".encode()


class EpochKeys:
    """The wrapping keys of one instance's key directory; read from the files when asked."""

    def __init__(self, directory: Path, instance_key: bytes) -> None:
        """Keep the directory and the instance key that wraps each epoch's file."""
        self.directory = Path(directory)
        self._instance_key = instance_key
        self._keys: dict[int, bytes] = {}

    def __repr__(self) -> str:
        """Say nothing of the keys."""
        return f"EpochKeys({self.directory})"

    def epochs(self) -> list[int]:
        """Return the epochs whose key files exist, oldest first."""
        if not self.directory.is_dir():
            return []
        found = (_NAME.fullmatch(path.name) for path in self.directory.iterdir())
        return sorted(int(match.group(1)) for match in found if match)

    def path(self, epoch: int) -> Path:
        """Return the file of an epoch's key."""
        return self.directory / f"epoch-{epoch:06d}.key"

    def current(self) -> int:
        """Return the newest epoch, creating epoch 1 on a new instance."""
        epochs = self.epochs()
        return epochs[-1] if epochs else self.create(1)

    def key(self, epoch: int) -> bytes:
        """Return an epoch's wrapping key; CryptoError once the epoch was destroyed."""
        key = self._keys.get(epoch)
        if key is None:
            try:
                wrapped = self.path(epoch).read_bytes()
            except FileNotFoundError as exc:
                raise CryptoError(
                    f"wrapping epoch {epoch} was destroyed: the keys it wrapped are unreadable"
                ) from exc
            key = self._keys[epoch] = unwrap_key(self._instance_key, wrapped, _file_context(epoch))
        return key

    def create(self, epoch: int) -> int:
        """Write a new epoch's key file (never replacing one); return the epoch."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = new_key()
        wrapped = wrap_key(self._instance_key, key, _file_context(epoch))
        temporary = self.directory / f".epoch-{epoch:06d}.{os.getpid()}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(wrapped)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        try:
            os.link(temporary, self.path(epoch))  # Fails if another process made it first.
        except FileExistsError:
            pass
        else:
            self._keys[epoch] = key
        finally:
            temporary.unlink()
        _sync_directory(self.directory)
        return epoch

    def create_next(self) -> int:
        """Create the epoch after the newest; return it."""
        epochs = self.epochs()
        return self.create((epochs[-1] if epochs else 0) + 1)

    def destroy(self, epoch: int) -> bool:
        """Overwrite an epoch's key file with random bytes and remove it; return if it existed."""
        self._keys.pop(epoch, None)
        path = self.path(epoch)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return False
        with open(path, "r+b") as handle:
            handle.write(os.urandom(size))
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        _sync_directory(self.directory)
        return True

    def wrap(self, key: bytes, base_context: bytes) -> tuple[bytes, int]:
        """Wrap a pupil data key under the current epoch; return it and the epoch."""
        epoch = self.current()
        return wrap_key(self.key(epoch), key, pupil_key_context(base_context, epoch)), epoch

    def unwrap(self, wrapped: bytes, base_context: bytes, epoch: int | None) -> bytes:
        """Unwrap a pupil data key wrapped under an epoch (None: under the instance key)."""
        if epoch is None:
            return unwrap_key(self._instance_key, wrapped, base_context)
        return unwrap_key(self.key(epoch), wrapped, pupil_key_context(base_context, epoch))


class LegacyKeys(EpochKeys):
    """No key directory (a session made without one): wrap under the instance key, as before."""

    def __init__(self, instance_key: bytes) -> None:
        """Keep the instance key only."""
        super().__init__(Path(os.devnull), instance_key)

    def wrap(self, key: bytes, base_context: bytes) -> tuple[bytes, None]:  # type: ignore[override]
        """Wrap under the instance key; the epoch is None."""
        return wrap_key(self._instance_key, key, base_context), None

    def epochs(self) -> list[int]:
        """Return no epochs: there is no key directory."""
        return []

    def key(self, epoch: int) -> bytes:
        """Refuse: an epoch's key needs the instance's key directory."""
        raise CryptoError(f"this session has no wrapping-key directory to open epoch {epoch}")


def epoch_keys(info: dict[str, object], instance_key: bytes) -> EpochKeys:
    """Return the wrapping keys of a session (its info names the key directory), cached."""
    cached = info.get("epoch_keys")
    if isinstance(cached, EpochKeys):
        return cached
    directory = info.get(KEY_DIR_INFO)
    keys = (
        LegacyKeys(instance_key)
        if directory is None
        else EpochKeys(Path(str(directory)), instance_key)
    )
    info["epoch_keys"] = keys
    return keys


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
