"""One running instance: its settings, database, instance key and blob store, opened once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from exchange.config import load_config
from exchange.db import make_engine, make_session_factory

if TYPE_CHECKING:
    from exchange.vault.store import BlobStore


@dataclass
class Instance:
    """The resources of one instance, shared by the web app, the CLI and the worker."""

    config: dict[str, Any]
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)
    _closers: list[Callable[[], object]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        """Create the instance folder and connect to the database."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(self.config["DATABASE_URL"])
        self.sessions = make_session_factory(
            self.engine, lambda: self.instance_key, self.wrapping_key_dir
        )

    @property
    def home(self) -> Path:
        """Return the instance folder."""
        return Path(self.config["HOME"])

    @property
    def wrapping_key_dir(self) -> Path:
        """Return the directory of the wrapping-key epochs (kept out of the database)."""
        return self.home / "wrapping-keys"

    @cached_property
    def instance_key(self) -> bytes:
        """Return the key that wraps pupil data keys and school private keys."""
        from exchange.vault.instance_key import load_instance_key  # Loads cryptography.

        return load_instance_key(self.config)

    @cached_property
    def blobs(self) -> BlobStore:
        """Return the encrypted document store."""
        from exchange.vault.store import BlobStore

        return BlobStore(Path(self.config.get("BLOB_DIR") or self.home / "blobs"))

    def on_close(self, closer: Callable[[], object]) -> None:
        """Run closer (e.g. a broker connection pool's close) when the instance is closed."""
        self._closers.append(closer)

    def close(self) -> None:
        """Release broker and database connections."""
        while self._closers:
            self._closers.pop()()
        self.engine.dispose()


def open_instance(test_config: dict[str, Any] | None = None) -> Instance:
    """Load the settings and open the instance they describe."""
    import exchange.models  # noqa: F401  (every table and listener is registered)

    return Instance(load_config(test_config))
