"""A parent's request handled by the service: redaction, exemptions, approval, delivery."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pikepdf
import pytest
from sar_kit import FORBIDDEN_NAMES, PARTNER, Setting, actor, make_setting, school
from sqlalchemy import select

from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.records.models import Pupil
from exchange.subject_access import service
from exchange.subject_access.errors import RequestRefused
from exchange.subject_access.export import handling_record
from exchange.subject_access.models import SubjectAccessRequest
from exchange.subject_access.package import RESPONSE_NAME
from tests.redaction.producers import ocr_pdf

SEVEN_ZIP = shutil.which("7zz") or shutil.which("7z")


@pytest.fixture
def setting(instance: Instance) -> Setting:
    return make_setting(instance)


def _log(instance: Instance, setting: Setting, **overrides: object) -> int:
    values: dict[str, object] = {
        "requester_name": "Joanna Thornbury",
        "relationship": "parent",
        "received_on": date(2026, 11, 30),
        "identity_check": "Passport seen at reception",
        "authority_check": "Named as mother on the admission form; birth certificate seen",
        "linked_to_child": True,
        "today": date(2026, 12, 1),
    }
    values.update(overrides)
    with transaction(instance.sessions) as session:
        request = service.log_request(
            session,
            school(session, setting),
            actor(session, setting.dsl_id),
            session.get(Pupil, setting.pupil_id),
            **values,  # type: ignore[arg-type]
        )
        return request.id


def _prepare(instance: Instance, setting: Setting, request_id: int) -> None:
    """Consult the child, remove the partner, redact, review flags and submit as the DSL."""
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        dsl = actor(session, setting.dsl_id)
        service.record_child_views(
            session, request, dsl, consulted=True, views="Happy for her mum to see it."
        )
        service.add_person(session, request, dsl, name=PARTNER)
        for item in service.redact(session, instance, request, dsl):
            service.review(
                session, request, dsl, item.id, resolution="confirmed", note="Checked by hand"
            )
        first = next(
            i for i in request.items if "pushed" in str((i.redacted or {}).get("narrative"))
        )
        service.withhold(
            session,
            request,
            dsl,
            first.id,
            exemption="serious_harm",
            reason="Would distress the child",
            consulted="Dr A. Example, school nurse",
            passage="pushed her at break",
        )
        service.submit(session, request, dsl)


def test_a_parents_request_from_logging_to_acknowledgement(
    instance: Instance, setting: Setting, tmp_path: Path
) -> None:
    request_id = _log(instance, setting)
    with instance.sessions() as session:
        request = session.get(SubjectAccessRequest, request_id)
        assert request.due_on == date(2026, 12, 30)  # 30 Nov + 1 month, a working day.
        assert request.child_age_at_receipt == 13
    _prepare(instance, setting, request_id)
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        with pytest.raises(RequestRefused, match="second person"):
            service.approve(
                session, instance, request, actor(session, setting.dsl_id), fresh_second_factor=True
            )
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        with pytest.raises(RequestRefused, match="second factor"):
            service.approve(
                session,
                instance,
                request,
                actor(session, setting.dpo_id),
                fresh_second_factor=False,
            )
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        dpo = actor(session, setting.dpo_id)
        service.approve(session, instance, request, dpo, fresh_second_factor=True)
        pdf = service.response_bytes(session, instance, request)
        package = service.send(session, instance, request, dpo, method="zip")
    response = tmp_path / "response.pdf"
    response.write_bytes(pdf)
    extracted = subprocess.run(
        ["pdftotext", "-layout", str(response), "-"], capture_output=True, text=True, check=True
    ).stdout
    for name in FORBIDDEN_NAMES:
        assert name.casefold() not in extracted.casefold(), name
    for kept in ("Maisie", "Joanna Thornbury", "Teacher Abbott"):
        assert kept in extracted
    seen = ocr_pdf(response, tmp_path).casefold()
    assert "joanna thornbury" in seen  # OCR reads the page at all.
    for name in FORBIDDEN_NAMES:
        assert name.casefold() not in seen, name
    assert "pushed her at break" not in extracted
    assert "[withheld: see schedule item" in extracted
    assert "Schedule of information withheld or removed" in extracted
    assert "serious harm" in extracted
    assert "Schedule 3" in extracted
    assert "Dr A. Example" not in extracted
    assert "Would distress" not in extracted
    assert "Core group minutes" in extracted  # The redacted vault PDF, as an appendix.
    with pikepdf.open(response) as opened:
        total = len(opened.pages)
    assert total >= 4  # Letter, records, schedule, and the appended document.
    for number in range(1, total + 1):
        page = subprocess.run(
            ["pdftotext", "-f", str(number), "-l", str(number), str(response), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"Page {number} of {total}" in page, number
    code = re.search(
        r"receipt code.*?([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})", extracted, re.S
    )
    assert code is not None
    assert package.path.exists()
    assert package.passphrase not in package.path.read_bytes().decode("latin-1")
    if SEVEN_ZIP:
        subprocess.run(
            [
                SEVEN_ZIP,
                "x",
                f"-p{package.passphrase}",
                f"-o{tmp_path / 'opened'}",
                str(package.path),
            ],
            check=True,
            capture_output=True,
        )
        assert (tmp_path / "opened" / RESPONSE_NAME).read_bytes() == pdf
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        dsl = actor(session, setting.dsl_id)
        with pytest.raises(RequestRefused, match="does not match"):
            service.acknowledge(
                session, instance, request, dsl, code="AAAA-BBBB-CCCC-DDDD", confirmed_by="Phone"
            )
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        service.acknowledge(
            session,
            instance,
            request,
            actor(session, setting.dsl_id),
            code=code.group(1).lower(),
            confirmed_by="The requester, by phone",
        )
        assert request.state == "closed"
        assert request.retain_until.year == request.closed_at.year + 6
        record = handling_record(session, request)
        events = session.scalars(
            select(AuditEntry.event).where(AuditEntry.school_id == setting.school_id)
        ).all()
    assert not package.path.exists()
    assert next(s["action"] for s in record["steps"]) == "log"
    assert record["exemptions"][0]["consulted"] == "Dr A. Example, school nurse"
    assert {
        "sar.log",
        "sar.redact",
        "sar.withhold",
        "sar.approve",
        "sar.send",
        "sar.acknowledge",
    } <= set(events)
    for row in record["schedule"]:
        for name in FORBIDDEN_NAMES:
            assert name not in str(row)


def test_no_identity_check_means_no_answer(instance: Instance, setting: Setting) -> None:
    request_id = _log(instance, setting, identity_check="")
    with pytest.raises(RequestRefused, match="no identity check"):
        _prepare(instance, setting, request_id)


def test_an_unreviewed_flag_stops_approval(instance: Instance, setting: Setting) -> None:
    request_id = _log(instance, setting)
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        dsl = actor(session, setting.dsl_id)
        service.record_child_views(session, request, dsl, consulted=False, views="Away on a trip")
        service.add_person(session, request, dsl, name=PARTNER)
        flagged = service.redact(session, instance, request, dsl)
    assert flagged, "the fixture has something for the DSL to review"
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        with pytest.raises(RequestRefused, match="redaction flag"):
            service.submit(session, request, actor(session, setting.dsl_id))


def test_a_requester_not_linked_to_the_child_is_refused_with_the_reason(
    instance: Instance, setting: Setting
) -> None:
    request_id = _log(instance, setting, relationship="carer", linked_to_child=False)
    with instance.sessions() as session:
        request = session.get(SubjectAccessRequest, request_id)
        assert request.state == "refused"
        assert "parental responsibility" in request.refusal_reason
        assert request.items == []


def test_the_requester_is_never_a_third_party(instance: Instance, setting: Setting) -> None:
    request_id = _log(instance, setting)
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        with pytest.raises(ValidationError, match="never removed"):
            service.add_person(
                session, request, actor(session, setting.dsl_id), name="joanna  thornbury"
            )


def test_the_dpo_cannot_prepare_a_response(instance: Instance, setting: Setting) -> None:
    request_id = _log(instance, setting)
    with transaction(instance.sessions) as session:
        request = session.get(SubjectAccessRequest, request_id)
        with pytest.raises(RequestRefused, match="Only the DSL or a deputy DSL"):
            service.redact(session, instance, request, actor(session, setting.dpo_id))
