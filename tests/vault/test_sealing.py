"""Sealed fields: written only sealed for their row, opened on load, found by blind index."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from factories import incident, pupil, school
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import StatementError

from exchange.db import transaction
from exchange.errors import CryptoError
from exchange.instance import Instance
from exchange.records.models import Incident, IncidentAction, Pupil
from exchange.records.sealed_reads import pupil_births, pupil_upns, upn_is
from exchange.vault.sealed_type import ClearTextWrite, SealFor

MARKER = "marmalade-lighthouse-7731"


def _raw(instance: Instance, sql: str) -> list[object]:
    with instance.engine.connect() as connection:
        return [value for row in connection.execute(text(sql)) for value in row]


def test_orm_writes_sealed_bytes_and_loads_the_text(instance: Instance) -> None:
    with transaction(instance.sessions) as session:
        child = pupil(session, school(session), forename="Zebedee", other_names=["Zed"])
        record = incident(session, child, f"{MARKER} said at break")
        session.add(
            IncidentAction(
                school_id=child.school_id,
                incident=record,
                text=f"{MARKER} rang",
                acted_at=record.occurred_at,
            )
        )
        assert record.narrative == f"{MARKER} said at break"  # Still the text after the flush.
        ids = child.id, record.id, child.upn
    stored = _raw(instance, "SELECT narrative FROM incidents") + _raw(
        instance, "SELECT forename, upn, other_names, date_of_birth FROM pupils"
    )
    assert all(isinstance(value, bytes) and value.startswith(b"SGXF1") for value in stored)
    assert not any(MARKER.encode() in value or b"Zebedee" in value for value in stored)
    with instance.sessions() as session:
        loaded = session.get(Incident, ids[1])
        assert loaded.narrative == f"{MARKER} said at break"
        assert loaded.actions[0].text == f"{MARKER} rang"
        assert loaded.pupil.forename == "Zebedee"
        assert loaded.pupil.other_names == ["Zed"]
        assert loaded.pupil.date_of_birth == date(2016, 5, 17)
        assert pupil_upns(session, [ids[0]]) == {ids[0]: ids[2]}
        assert pupil_births(session, [ids[0]]) == {ids[0]: date(2016, 5, 17)}
        found = session.scalar(select(Pupil).where(upn_is(session, loaded.school_id, ids[2])))
        assert found is loaded.pupil


def test_an_update_is_sealed_again(instance: Instance) -> None:
    with transaction(instance.sessions) as session:
        record = incident(session, pupil(session, school(session)), "first")
        record_id = record.id
    with transaction(instance.sessions) as session:
        session.get(Incident, record_id).narrative = f"{MARKER} second"
    assert MARKER.encode() not in _raw(instance, "SELECT narrative FROM incidents")[0]
    with instance.sessions() as session:
        assert session.get(Incident, record_id).narrative == f"{MARKER} second"


@pytest.mark.parametrize("how", ["insert", "update", "where"])
def test_a_clear_text_write_or_search_is_refused(instance: Instance, how: str) -> None:
    with transaction(instance.sessions) as session:
        child = pupil(session, school(session))
        record = incident(session, child)
        school_id, child_id, record_id, occurred = (
            child.school_id,
            child.id,
            record.id,
            record.occurred_at,
        )
    statements = {
        "insert": insert(Incident).values(
            school_id=school_id,
            pupil_id=child_id,
            occurred_at=occurred,
            recorded_at=occurred,
            narrative=MARKER,
        ),
        "update": update(Incident).where(Incident.id == record_id).values(narrative=MARKER),
        "where": select(Incident.id).where(Incident.narrative == MARKER),
    }
    with instance.sessions() as session, pytest.raises(StatementError) as raised:
        session.execute(statements[how])
    assert isinstance(raised.value.orig, ClearTextWrite)
    assert not any(
        MARKER.encode() in bytes(value)
        for value in _raw(instance, "SELECT narrative FROM incidents")
    )


def test_a_sealed_value_moved_to_another_row_does_not_open(instance: Instance) -> None:
    with transaction(instance.sessions) as session:
        child = pupil(session, school(session))
        first, second = incident(session, child, "one"), incident(session, child, "two")
        ids = first.id, second.id
    with instance.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE incidents SET narrative = (SELECT narrative FROM incidents WHERE id = :a)"
                " WHERE id = :b"
            ),
            {"a": ids[0], "b": ids[1]},
        )
    with instance.sessions() as session, pytest.raises(CryptoError, match="does not open"):
        session.get(Incident, ids[1])


def test_seal_values_say_nothing_in_logs(
    instance: Instance, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    instance.engine.echo = True
    try:
        with transaction(instance.sessions) as session:
            incident(session, pupil(session, school(session)), MARKER)
    finally:
        instance.engine.echo = False
    assert MARKER not in caplog.text
    assert MARKER not in repr(SealFor(MARKER, b"k" * 32, b"context"))
