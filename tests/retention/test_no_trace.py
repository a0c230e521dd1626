"""After a purge no trace of the pupil's names or narrative is left in the data, files or logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from factories import fake
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import Base
from exchange.instance import Instance
from exchange.logs import configure_logging
from exchange.records.history import EDITOR_KEY
from exchange.records.models import Incident, Pupil
from exchange.retention.models import DisposalCertificate
from exchange.retention.purge import purge_school
from tests.retention.support import World, add_document, add_incident, add_pupil, date_all


def _database_text(session: Session) -> str:
    chunks = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            for value in row:
                if isinstance(value, bytes | bytearray | memoryview):
                    chunks.append(bytes(value).decode("latin-1"))
                else:
                    chunks.append(json.dumps(value, default=str))
    return "\n".join(chunks)


def _blob_bytes(instance: Instance) -> bytes:
    return b"".join(path.read_bytes() for path in instance.blobs.root.rglob("*") if path.is_file())


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Capture the service's JSON logs, restoring the handlers afterwards."""
    logger = logging.getLogger("exchange")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    stream = io.StringIO()
    configure_logging({"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}, stream)
    yield stream
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def test_no_trace_of_a_purged_pupil_remains_while_the_certificate_does(
    rinstance: Instance, world: World, session: Session, log_stream: io.StringIO
) -> None:
    child = add_pupil(session, world, date(2000, 4, 1))
    other = add_pupil(session, world, date(2012, 4, 1))
    secret_words = f"{fake.word()}-{fake.word()}-{fake.random_int(1000, 9999)}"
    narrative = f"{child.forename} {child.surname} told staff about {secret_words}."
    incident = add_incident(session, world, child, ("Child Protection/Neglect",), narrative)
    incident.linked_pupils.append(other)
    session.flush()
    session.info[EDITOR_KEY] = None
    incident.narrative = narrative + " Corrected later."
    session.flush()
    add_document(session, rinstance, child, f"%PDF {secret_words}".encode(), incident=incident)
    add_document(session, rinstance, child, b"%PDF a letter", media_type="image/jpeg")
    kept = add_incident(session, world, other, ("Bullying",), f"{other.forename} was upset.")
    date_all(session, world, child, other)
    session.commit()
    names = [child.forename, child.surname, secret_words, child.upn]
    for name in names:
        assert name not in _database_text(session)  # Sealed with the pupil's key from the start.

    result = purge_school(
        rinstance.sessions,
        rinstance.blobs,
        rinstance.instance_key,
        world.school.id,
        now=datetime(2025, 6, 1, 12, tzinfo=UTC),
    )
    assert result.totals["pupils_removed"] == 1
    assert result.totals["links_removed"] == 0  # Links on the child's own incident go with it.
    assert result.totals["edits"] == 1

    session.expire_all()
    database = _database_text(session)
    blobs = _blob_bytes(rinstance)
    logs = log_stream.getvalue()
    assert "purge finished" in logs
    for name in names:
        assert name not in database, name
        assert name.encode() not in blobs, name
        assert name not in logs, name
    assert other.forename not in database
    assert kept.narrative not in database
    assert session.get(Pupil, other.id).forename == other.forename
    assert session.get(Incident, kept.id).narrative == kept.narrative
    assert session.scalars(select(DisposalCertificate)).one().jws
