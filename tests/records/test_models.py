"""The data model: tenant scoping, edit history, constraints and encrypted documents."""

from __future__ import annotations

import io

import pytest
from factories import incident, pupil, school
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from exchange.db import transaction
from exchange.errors import CryptoError
from exchange.instance import Instance
from exchange.records.history import EDITOR_KEY
from exchange.records.models import Incident, IncidentEdit, Pupil, StaffMember, User
from exchange.records.scoping import scope_session
from exchange.vault.pupil_keys import blob_context, destroy_pupil_key, pupil_data_key


def test_a_scoped_session_sees_only_its_own_school(instance: Instance) -> None:
    with transaction(instance.sessions) as session:
        first, second = school(session, 1), school(session, 2)
        mine = pupil(session, first)
        theirs = pupil(session, second)
        incident(session, mine)
        incident(session, theirs)
        ids = first.id, mine.id, theirs.id
    with instance.sessions() as session:
        scope_session(session, ids[0])
        assert [p.id for p in session.scalars(select(Pupil))] == [ids[1]]
        assert session.scalar(select(func.count()).select_from(Incident)) == 1
        assert session.scalars(select(Incident).where(Incident.pupil_id == ids[2])).all() == []
        assert session.get(Pupil, ids[2]) is None


def test_a_scoped_session_cannot_write_another_schools_rows(instance: Instance) -> None:
    with transaction(instance.sessions) as session:
        first, second = school(session, 1), school(session, 2)
        ids = first.id, second.id
    with instance.sessions() as session:
        scope_session(session, ids[0])
        session.add(Pupil(school_id=ids[1], upn="B801200005001", forename="X", surname="Y"))
        with pytest.raises(PermissionError):
            session.flush()


def test_editing_an_incident_keeps_the_old_text_with_time_and_editor(instance: Instance) -> None:
    with transaction(instance.sessions) as session:
        at = school(session)
        author = StaffMember(school_id=at.id, source_system="t", source_id="s1", name="Staff A")
        session.add(author)
        record = incident(session, pupil(session, at), narrative="First account.")
        session.flush()
        session.info[EDITOR_KEY] = author.id
        record.narrative = "Corrected account."
        record.status = "closed"
        incident_id, author_id = record.id, author.id
    with instance.sessions() as session:
        edits = session.scalars(select(IncidentEdit).order_by(IncidentEdit.field)).all()
        assert [(e.field, e.previous_value, e.new_value) for e in edits] == [
            ("narrative", "First account.", "Corrected account."),
            ("status", "open", "closed"),
        ]
        assert {e.editor_id for e in edits} == {author_id}
        assert all(e.incident_id == incident_id and e.edited_at.tzinfo for e in edits)


def test_unknown_roles_are_refused_by_the_database(instance: Instance) -> None:
    with instance.sessions() as session:
        at = school(session)
        session.add(User(school_id=at.id, role="teacher", name="N", email="n@example.org"))
        with pytest.raises(IntegrityError):
            session.flush()


def test_document_blobs_are_encrypted_and_die_with_the_pupil_key(instance: Instance) -> None:
    plaintext = b"%PDF-1.7 minutes of the core group meeting " * 100
    with transaction(instance.sessions) as session:
        child = pupil(session, school(session))
        key = pupil_data_key(session, child, instance.instance_key)
        blob = instance.blobs.write(key, blob_context(child), io.BytesIO(plaintext), 10**6)
        child_id = child.id
    on_disk = instance.blobs.path_for(blob.storage_key).read_bytes()
    assert b"core group" not in on_disk
    assert blob.size == len(plaintext)
    with transaction(instance.sessions) as session:
        child = session.get(Pupil, child_id)
        key = pupil_data_key(session, child, instance.instance_key)
        assert instance.blobs.read_all(key, blob_context(child), blob.storage_key) == plaintext
        assert destroy_pupil_key(session, child)
    with transaction(instance.sessions) as session:
        with pytest.raises(CryptoError, match="destroyed"):
            session.get(Pupil, child_id)  # The pupil's own name is sealed with the key.
        with pytest.raises(CryptoError, match="destroyed"):
            pupil_data_key(session, child, instance.instance_key)
        with pytest.raises(CryptoError):
            instance.blobs.read_all(key[::-1], blob_context(child), blob.storage_key)
