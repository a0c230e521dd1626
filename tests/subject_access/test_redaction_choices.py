"""Who is removed for a requester: staff on a stated reason, the DSL's decisions, the schedule."""

from __future__ import annotations

from datetime import date

import pytest
from sar_kit import PARENT, PARTNER, STAFF, Setting, actor, make_setting, school

from exchange.db import transaction
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.records.models import Pupil
from exchange.subject_access import service
from exchange.subject_access.models import SubjectAccessRequest
from exchange.subject_access.schedule import build_schedule


@pytest.fixture
def setting(instance: Instance) -> Setting:
    return make_setting(instance)


def _open(instance: Instance, setting: Setting) -> int:
    with transaction(instance.sessions) as session:
        return service.log_request(
            session,
            school(session, setting),
            actor(session, setting.dsl_id),
            session.get(Pupil, setting.pupil_id),
            requester_name=PARENT,
            relationship="parent",
            received_on=date(2026, 11, 30),
            identity_check="Passport",
            authority_check="Birth certificate",
            linked_to_child=True,
            today=date(2026, 12, 1),
        ).id


def _texts(request: SubjectAccessRequest) -> str:
    return " ".join(
        str(item.redacted) for item in request.items if item.kind == "incident" and item.redacted
    )


def test_staff_are_kept_unless_removed_with_a_reason(instance: Instance, setting: Setting) -> None:
    request_id = _open(instance, setting)
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        dsl = actor(session, setting.dsl_id)
        service.redact(session, instance, request, dsl)
        assert STAFF in _texts(request)
        assert PARENT in _texts(request)
        with pytest.raises(ValidationError, match="say why"):
            service.add_person(session, request, dsl, staff_id=setting.staff_id)
        service.add_person(
            session, request, dsl, staff_id=setting.staff_id, reason="Left after threats"
        )
        assert request.redacted_at is None  # The change needs a new redaction.
        service.redact(session, instance, request, dsl)
        assert STAFF not in _texts(request)
        assert PARENT in _texts(request)


def test_the_dsls_decisions_on_doubtful_names(instance: Instance, setting: Setting) -> None:
    request_id = _open(instance, setting)
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        dsl = actor(session, setting.dsl_id)
        flagged = service.redact(session, instance, request, dsl)
        assert len(flagged) == 1
        with pytest.raises(ValidationError, match="what was checked"):
            service.review(session, request, dsl, flagged[0].id, resolution="kept", note="")
        service.review(session, request, dsl, flagged[0].id, resolution="kept", note="A flower")
        assert "with Rose at lunch" in _texts(request)
        assert not any(item.blocks_approval for item in request.items)
        service.redact(session, instance, request, dsl)
        flagged = [item for item in request.items if item.blocks_approval]
        service.review(session, request, dsl, flagged[0].id, resolution="excluded", note="Unsure")
        assert not flagged[0].included


def test_the_schedule_says_nothing_of_third_parties(instance: Instance, setting: Setting) -> None:
    request_id = _open(instance, setting)
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        dsl = actor(session, setting.dsl_id)
        service.add_person(session, request, dsl, name=PARTNER)
        service.redact(session, instance, request, dsl)
        item = next(i for i in request.items if i.kind == "incident" and i.included)
        with pytest.raises(ValidationError, match="who asked"):
            service.withhold(session, request, dsl, item.id, exemption="crime", reason="Police")
        service.withhold(
            session,
            request,
            dsl,
            item.id,
            exemption="informant",
            reason=f"{PARTNER}'s neighbour reported this; naming would identify her",
        )
        service.withhold(
            session, request, dsl, item.id, exemption="crime", reason=f"Investigation of {PARTNER}",
            consulted="PC Example, Constabulary, ref 12/345",
        )  # fmt: skip
        rows = build_schedule(request)
    shown = repr(rows)
    for word in (*PARTNER.split(), "neighbour", "PC Example", "12/345", "Investigation"):
        assert word not in shown, word
    assert {row.what for row in rows} >= {"The whole record", "Names or details of other people"}
