"""Extensions, scope and provenance, reminders, refusal, sending back, and retention."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sar_kit import Setting, actor, make_setting, school
from sqlalchemy import func, select, update

from exchange.audit.models import AuditEntry
from exchange.auth.permissions import Forbidden
from exchange.db import transaction
from exchange.errors import CryptoError, ValidationError
from exchange.instance import Instance
from exchange.partners.models import Partner
from exchange.records.models import Incident, Pupil
from exchange.subject_access import register, service
from exchange.subject_access.models import SubjectAccessRequest, SubjectAccessStep
from exchange.subject_access.schedule import build_schedule
from exchange.subject_access.scope import OUT_OF_DATES
from exchange.vault.pupil_keys import destroy_pupil_key


@pytest.fixture
def setting(instance: Instance) -> Setting:
    return make_setting(instance)


def _log(instance: Instance, setting: Setting, **extra: object) -> int:
    with transaction(instance.sessions) as session:
        values: dict[str, object] = {
            "requester_name": "Maisie Thornbury",
            "relationship": "self",
            "received_on": date(2026, 11, 30),
            "identity_check": "Known to staff",
            "today": date(2026, 12, 1),
        }
        values.update(extra)
        request = service.log_request(
            session,
            school(session, setting),
            actor(session, setting.dsl_id),
            session.get(Pupil, setting.pupil_id),
            **values,  # type: ignore[arg-type]
        )
        return request.id


def test_an_extension_needs_a_reason_and_the_requester_told_in_the_first_month(
    instance: Instance, setting: Setting
) -> None:
    request_id = _log(instance, setting)
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        dpo = actor(session, setting.dpo_id)
        with pytest.raises(ValidationError, match="within the first month"):
            service.extend(
                session, request, dpo, months=2, reason="Many records",
                told_on=date(2027, 1, 4), today=date(2027, 1, 5),
            )  # fmt: skip
        with pytest.raises(ValidationError, match="complex"):
            service.extend(
                session, request, dpo, months=2, reason=" ",
                told_on=date(2026, 12, 2), today=date(2026, 12, 3),
            )  # fmt: skip
        service.extend(
            session, request, dpo, months=2, reason="Records from three previous schools",
            told_on=date(2026, 12, 2), today=date(2026, 12, 3),
        )  # fmt: skip
        assert request.due_on == date(2027, 3, 1)  # 28 February 2027 is a Sunday.
        with pytest.raises(ValidationError, match="longer"):
            service.extend(
                session, request, dpo, months=1, reason="x",
                told_on=date(2026, 12, 2), today=date(2026, 12, 3),
            )  # fmt: skip


def test_scope_by_dates_and_the_provenance_of_a_received_file(
    instance: Instance, setting: Setting
) -> None:
    with transaction(instance.sessions) as session:
        session.add(
            Partner(
                school_id=setting.school_id, urn="990102", laestab="9990102", name="Flow School 2"
            )
        )
        incident = session.scalar(
            select(Incident)
            .where(Incident.narrative.is_not(None))
            .order_by(Incident.occurred_at.desc())
        )
        incident.source_system = "transfer:990102"
    request_id = _log(instance, setting, scope_from=date(2026, 9, 1))
    with instance.sessions() as session:
        request = session.get(SubjectAccessRequest, request_id)
        by_kind = [(i.kind, i.included, i.reason, i.provenance) for i in request.items]
    assert ("incident", False, OUT_OF_DATES, "Recorded at this school") in by_kind
    assert any(p.startswith("Received from Flow School 2 (URN 990102)") for *_, p in by_kind)
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        dsl = actor(session, setting.dsl_id)
        kept = next(i for i in request.items if i.included and i.kind == "incident")
        with pytest.raises(ValidationError, match="say why"):
            service.select_item(session, request, dsl, kept.id, included=False)
        service.select_item(
            session, request, dsl, kept.id, included=False, reason="A duplicate of the document"
        )
        rows = build_schedule(request)
    assert [r.what for r in rows] == ["The whole record"]
    assert "duplicate" not in str(rows)


def test_reminders_overdue_refusal_and_retention(instance: Instance, setting: Setting) -> None:
    soon = _log(
        instance, setting, received_on=date.today() - timedelta(days=27), today=date.today()
    )
    late = _log(
        instance, setting, received_on=date.today() - timedelta(days=70), today=date.today()
    )
    with transaction(instance.sessions) as session:
        the_school = school(session, setting)
        assert [r.id for r in register.overdue(session, setting.school_id, date.today())] == [late]
        reminded = {r.id for r in register.remind(session, the_school, date.today())}
        assert reminded == {soon, late}
        assert register.remind(session, the_school, date.today()) == []
        request = session.get(SubjectAccessRequest, late)
        service.refuse(session, request, actor(session, setting.dpo_id), "Manifestly excessive")
        assert request.state == "refused"
        assert request.retain_until is not None
    with instance.sessions() as session:
        still_overdue = register.overdue(session, setting.school_id, date.today())
    assert late not in [r.id for r in still_overdue]
    with transaction(instance.sessions) as session:
        dsl = actor(session, setting.dsl_id)
        with pytest.raises(Forbidden, match="Only the DPO"):
            register.purge_expired(session, instance, setting.school_id, date(2040, 1, 1), dsl)
    with transaction(instance.sessions) as session:
        dpo = actor(session, setting.dpo_id)
        retain_until = session.get(SubjectAccessRequest, late).retain_until
        assert register.purge_expired(session, instance, setting.school_id, retain_until, dpo) == 0
        destroyed = register.purge_expired(
            session, instance, setting.school_id, retain_until + timedelta(days=1), dpo
        )
        assert destroyed == 1
    with instance.sessions() as session:
        assert session.get(SubjectAccessRequest, late) is None
        assert session.get(SubjectAccessRequest, soon) is not None
        steps = session.scalar(select(func.count()).where(SubjectAccessStep.request_id == late))
        destroyed_events = session.scalar(
            select(func.count()).where(AuditEntry.event == "sar.destroyed")
        )
    assert steps == 0
    assert destroyed_events == 1


def test_the_register_outlives_the_childs_key(instance: Instance, setting: Setting) -> None:
    request_id = _log(instance, setting)
    with transaction(instance.sessions) as session:
        destroy_pupil_key(session, session.get(Pupil, setting.pupil_id))
        session.execute(
            update(SubjectAccessRequest)
            .where(SubjectAccessRequest.id == request_id)
            .values(state="refused", retain_until=date(2027, 1, 1))
        )
    with instance.sessions() as session, pytest.raises(CryptoError):
        session.get(SubjectAccessRequest, request_id)  # Its sealed details went with the key.
    with transaction(instance.sessions) as session:
        rows = register.register(session, setting.school_id, date(2027, 1, 1))
        assert [row.request.id for row in rows] == [request_id]
        dpo = actor(session, setting.dpo_id)
        purged = register.purge_expired(session, instance, setting.school_id, date(2027, 1, 2), dpo)
    assert purged == 1


def test_the_daily_reminder_task(
    instance: Instance, setting: Setting, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from exchange.subject_access.tasks import remind_all
    from exchange.tasks.worker import worker_instance

    _log(instance, setting, received_on=date(2026, 11, 2), today=date(2026, 11, 3))
    for key, value in cli_env.items():
        monkeypatch.setenv(key, value)
    worker_instance.cache_clear()
    try:
        assert remind_all("2026-11-20") == {"schools": 1, "reminders": 0}  # 12 days left.
        assert remind_all("2026-11-26") == {"schools": 1, "reminders": 1}
        assert remind_all("2026-11-26") == {"schools": 1, "reminders": 0}  # Once a day.
    finally:
        worker_instance().close()
        worker_instance.cache_clear()
