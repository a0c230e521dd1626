"""The purge: cutoffs either side, whole files, keys, certificates, resumption after a crash."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.instance import Instance
from exchange.packaging.keys import all_public_keys, public_key_of
from exchange.records.models import (
    Incident,
    IncidentAction,
    Pupil,
    PupilDataKey,
    VaultDocument,
)
from exchange.retention.certificate import verify_certificate
from exchange.retention.models import DisposalCertificate, PurgeRun
from exchange.retention.purge import preview, purge_school
from tests.retention.support import (
    World,
    add_document,
    add_incident,
    add_pupil,
    date_all,
    set_category_rule,
)


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def _purge(instance: Instance, world: World, day: date, **kwargs: object):  # type: ignore[no-untyped-def]
    return purge_school(
        instance.sessions,
        instance.blobs,
        instance.instance_key,
        world.school.id,
        now=_noon(day),
        **kwargs,
    )


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_nothing_goes_on_the_25th_birthday_and_the_file_goes_the_day_after(
    rinstance: Instance, world: World, session: Session
) -> None:
    child = add_pupil(session, world, date(2008, 5, 17))
    add_incident(session, world, child, ("Bullying",), actions=2)
    document = add_document(session, rinstance, child, b"%PDF-1.4 plan")
    date_all(session, world, child)
    session.commit()
    blob = rinstance.blobs.path_for(document.storage_key)
    assert blob.exists()

    assert _purge(rinstance, world, date(2033, 5, 17)).totals.get("incidents", 0) == 0
    session.expire_all()
    assert _count(session, Incident) == 1

    result = _purge(rinstance, world, date(2033, 5, 18))
    assert result.totals["incidents"] == 1
    assert result.totals["actions"] == 2
    assert result.totals["documents"] == 1
    assert result.totals["files"] == 1
    assert result.totals["pupils_removed"] == 1
    assert result.totals["keys_destroyed"] == 1
    assert not blob.exists()
    session.expire_all()
    for model in (Incident, IncidentAction, VaultDocument, Pupil, PupilDataKey):
        assert _count(session, model) == 0
    certificate = session.get(DisposalCertificate, result.certificate_ids[0])
    keys = [public_key_of(row) for row in all_public_keys(session, world.school.id, "signing")]
    payload = verify_certificate(certificate.jws, keys)
    assert payload["totals"]["incidents"] == 1
    assert payload["incidents_by_category"] == {"Bullying": 1}
    assert payload["documents_by_type"] == {"application/pdf": 1}
    assert payload["pupils"][0]["whole_file"] is True
    assert payload["pupils"][0]["ref"].startswith("pref1_")


def test_a_category_rule_keeps_sen_records_to_31_and_the_pupil_stays(
    rinstance: Instance, world: World, session: Session
) -> None:
    child = add_pupil(session, world, date(2008, 5, 17))
    add_incident(session, world, child, ("Bullying",))
    add_incident(session, world, child, ("SEN/EHCP review",))
    session.flush()
    set_category_rule(session, world.school.id, "SEN", "dob+31y", world.dpo)
    session.commit()

    result = _purge(rinstance, world, date(2033, 5, 18))
    assert result.totals["incidents"] == 1
    assert result.totals["pupils_removed"] == 0
    session.expire_all()
    assert session.get(Pupil, child.id) is not None
    assert preview(session, world.school.id, rinstance.instance_key, date(2039, 5, 17)).pupils == []
    due = preview(session, world.school.id, rinstance.instance_key, date(2039, 5, 18))
    assert [notice.incidents for notice in due.pupils] == [1]
    assert due.pupils[0].whole_file is True
    assert due.rule_set_version == 1


def test_a_purge_killed_after_its_first_batch_resumes_and_counts_once(
    rinstance: Instance, world: World, session: Session
) -> None:
    children = [add_pupil(session, world, date(2000, 1, 1)) for _ in range(3)]
    for child in children:
        for _ in range(2):
            add_incident(session, world, child, ("Child Protection/Neglect",))
    date_all(session, world, *children)
    session.commit()

    class Killed(Exception):
        pass

    def kill(batch: int) -> None:
        if batch == 1:
            raise Killed

    with pytest.raises(Killed):
        _purge(rinstance, world, date(2026, 1, 2), batch_size=2, after_batch=kill)
    session.expire_all()
    assert _count(session, Incident) == 4
    run = session.scalars(select(PurgeRun)).one()
    assert run.state == "running"
    assert _count(session, DisposalCertificate) == 0

    result = _purge(rinstance, world, date(2026, 1, 2), batch_size=2)
    assert result.run_ids == [run.id]
    assert result.totals["incidents"] == 6
    assert result.totals["pupils_removed"] == 3
    session.expire_all()
    assert _count(session, Incident) == 0
    certificate = session.scalars(select(DisposalCertificate)).one()
    keys = [public_key_of(row) for row in all_public_keys(session, world.school.id, "signing")]
    payload = verify_certificate(certificate.jws, keys)
    assert payload["totals"]["incidents"] == 6
    assert len(payload["pupils"]) == 3
    assert all(p["incidents"] == 2 for p in payload["pupils"])
