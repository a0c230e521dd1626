"""School keys: formats, fingerprints, storage wrapped by the instance key, rotation and CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyrage
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

import exchange.models  # noqa: F401 - registers every table
from exchange.db import Base
from exchange.errors import ValidationError
from exchange.packaging import keys
from exchange.packaging.cli_keys import keys as keys_group
from exchange.packaging.models import KIND_ENCRYPTION, KIND_SIGNING
from exchange.records.models import School


def test_age_strings_match_pyrage() -> None:
    ours = keys.EncryptionKey.generate()
    assert str(ours.to_pyrage().to_public()) == ours.public.recipient
    theirs = pyrage.x25519.Identity.generate()
    parsed = keys.EncryptionKey.from_identity(str(theirs))
    assert parsed.public.recipient == str(theirs.to_public())
    assert keys.EncryptionPublicKey.from_recipient(str(theirs.to_public())) == parsed.public


def test_key_id_and_phone_fingerprint() -> None:
    key = keys.SigningKey.generate()
    assert len(key.key_id) == 64
    spoken = keys.phone_fingerprint(key.key_id)
    groups = spoken.split(" ")
    assert len(groups) == 16
    assert all(len(g) == 4 and g == g.upper() for g in groups)
    assert "".join(groups).lower() == key.key_id


def test_pem_round_trip_and_repr_hides_secrets() -> None:
    key = keys.SigningKey.generate()
    assert keys.SigningPublicKey.from_pem(key.public.to_pem()) == key.public
    assert key.private_raw().hex() not in repr(key)
    identity = keys.EncryptionKey.generate()
    assert identity.identity_string() not in repr(identity)


def test_bad_key_text_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        keys.EncryptionPublicKey.from_recipient("age1notarealkey")
    with pytest.raises(ValidationError):
        keys.SigningPublicKey.from_pem(
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"
        )


@pytest.fixture
def factory(tmp_path: Path) -> sessionmaker[Session]:
    """Return sessions on a fresh SQLite database with every table."""
    engine = create_engine(f"sqlite:///{tmp_path / 'keys.sqlite3'}")
    Base.metadata.create_all(engine)
    return sessionmaker(bind=engine, expire_on_commit=False)


@pytest.fixture
def school_id(factory: sessionmaker[Session]) -> int:
    """Return the id of a fictional school."""
    with factory() as session:
        school = School(urn="900001", laestab="9991001", name="Testbrook Primary (fictional)")
        session.add(school)
        session.commit()
        return school.id


INSTANCE_KEY = bytes(range(32))


def test_generate_rotate_and_keep_old_public_keys(
    factory: sessionmaker[Session], school_id: int
) -> None:
    with factory() as session:
        first = keys.generate_keys(session, school_id, INSTANCE_KEY)
        session.commit()
        with pytest.raises(ValidationError, match="already has keys"):
            keys.generate_keys(session, school_id, INSTANCE_KEY)
        signer = keys.load_signing_key(session, school_id, INSTANCE_KEY)
        assert signer.key_id == first[0].key_id
        keys.rotate_keys(session, school_id, INSTANCE_KEY)
        session.commit()
        rows = keys.all_public_keys(session, school_id)
        assert len(rows) == 4
        assert sum(row.retired_at is None for row in rows) == 2
        current = keys.current_key(session, school_id, KIND_SIGNING)
        assert current is not None
        assert current.key_id != first[0].key_id
        identities = keys.load_encryption_keys(session, school_id, INSTANCE_KEY)
        assert [i.key_id for i in identities][1] == first[1].key_id
        for row in rows:
            assert row.private_key_wrapped.startswith(b"SGXWRAP1")
            assert row.public_key not in row.private_key_wrapped


def test_wrapped_key_needs_the_instance_key(factory: sessionmaker[Session], school_id: int) -> None:
    from exchange.errors import CryptoError

    with factory() as session:
        keys.generate_keys(session, school_id, INSTANCE_KEY)
        with pytest.raises(CryptoError):
            keys.load_signing_key(session, school_id, os.urandom(32))


def test_cli_generate_list_rotate_export(
    factory: sessionmaker[Session], school_id: int, tmp_path: Path
) -> None:
    runner = CliRunner()
    obj = {"session_factory": factory, "school_id": school_id, "instance_key": INSTANCE_KEY}
    result = runner.invoke(keys_group, ["generate"], obj=obj)
    assert result.exit_code == 0, result.output
    assert "read out:" in result.output
    assert runner.invoke(keys_group, ["rotate", "--kind", "signing"], obj=obj).exit_code == 0
    listing = runner.invoke(keys_group, ["list"], obj=obj)
    assert listing.output.count("signing") == 2
    assert "retired" in listing.output
    out = tmp_path / "public"
    exported = runner.invoke(keys_group, ["export-public", "--out", str(out)], obj=obj)
    assert exported.exit_code == 0, exported.output
    recipient = (out / "encryption.age-recipient").read_text().strip()
    assert recipient.startswith("age1")
    keys.SigningPublicKey.from_pem((out / "signing.pem").read_bytes())
    assert len(json.loads((out / "keys.json").read_text())) == 3
    with factory() as session:
        signer = keys.load_signing_key(session, school_id, INSTANCE_KEY)
        identity = keys.load_encryption_keys(session, school_id, INSTANCE_KEY)[0]
    everything = listing.output + exported.output + result.output
    everything += "".join(p.read_text() for p in out.iterdir())
    assert signer.private_raw().hex() not in everything
    assert identity.identity_string() not in everything
    assert "PRIVATE" not in everything
    assert {KIND_ENCRYPTION, KIND_SIGNING} == {
        row["kind"] for row in json.loads((out / "keys.json").read_text())
    }
