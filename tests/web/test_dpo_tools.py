"""The DPO's tools through the test client: what each shows, exports, refuses and audits."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from dpo_kit import Year, play_year
from flask import Flask
from flask.testing import FlaskClient
from flow import post
from sqlalchemy import select
from transfer_kit import OTHER_CHILD, SUBJECT
from web_kit import World, sign_in

from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Incident, Pupil
from exchange.retention.models import LegalHold
from exchange.retention.refs import pupil_ref, school_secret

PAGES = ("/dpo/audit", "/dpo/holds", "/dpo/forecast", "/dpo/purges", "/dpo/register", "/dpo/lookup")


@pytest.fixture
def year(app: Flask, instance: Instance, world: World) -> Year:
    """A view, a delivered transfer with a receipt, and the purge of the child's file."""
    return play_year(app, instance, world)


def _client(app: Flask, instance: Instance, world: World, school: str, role: str) -> FlaskClient:
    client = app.test_client()
    sign_in(client, instance, world.user(school, role))
    return client


def _ref(instance: Instance, school_id: int, upn: str) -> str:
    return pupil_ref(school_secret(instance.instance_key, school_id), upn)


def _text(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def _csv(client: FlaskClient, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _no_names(page: str) -> None:
    for name in (*SUBJECT, *OTHER_CHILD):
        assert name not in page


def _audited(instance: Instance, school_id: int, event: str) -> int:
    with instance.sessions() as session:
        return len(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.school_id == school_id, AuditEntry.event == event
                )
            ).all()
        )


def test_the_audit_explorer_finds_who_opened_a_purged_childs_record_by_upn(
    app: Flask, instance: Instance, world: World, year: Year
) -> None:
    dpo = _client(app, instance, world, "sender", "dpo")
    ref = _ref(instance, world.sender_id, year.subject_upn)
    page = _text(dpo, f"/dpo/audit?upn={year.subject_upn}&event=record.viewed")
    _no_names(page)
    assert year.subject_upn not in page.split("<table", 1)[1]  # Only in the form and links.
    assert "1 entry, page 1 of 1" in page
    assert "Dsl 1 (dsl)" in page
    assert ref[:18] in page
    rows = _csv(dpo, f"/dpo/audit?upn={year.subject_upn}&format=csv")
    events = {row["event"] for row in rows}
    assert {"record.viewed", "transfer.authorised", "retention.disposal_approved"} <= events
    assert {row["pupil reference"] for row in rows} == {ref}
    assert "Dpo 1 (dpo)" in {row["user"] for row in rows}
    assert _audited(instance, world.sender_id, "dpo.audit_exported") == 1
    assert _audited(instance, world.sender_id, "dpo.audit_explored") == 1


def test_the_audit_explorer_filters_by_person_and_dates_and_pages(
    app: Flask, instance: Instance, world: World, year: Year
) -> None:
    dpo = _client(app, instance, world, "sender", "dpo")
    dsl_id = world.user("sender", "dsl")
    rows = _csv(dpo, f"/dpo/audit?user={dsl_id}&format=csv")
    assert rows
    assert {row["user"] for row in rows} == {"Dsl 1 (dsl)"}
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    assert "0 entries" in _text(dpo, f"/dpo/audit?from={tomorrow}")
    everything = _text(dpo, f"/dpo/audit?to={tomorrow}")
    assert "page 1 of 1" in everything
    with transaction(instance.sessions) as session:
        pupil = session.scalar(select(Pupil).where(Pupil.school_id == world.sender_id))
        from exchange.audit.service import record_event

        for _ in range(60):
            record_event(
                session, world.sender_id, dsl_id, "dsl", "record.viewed", "pupil", pupil.id
            )
    first = _text(dpo, "/dpo/audit?event=record.viewed")
    assert "61 entries, page 1 of 2" in first
    assert "event=record.viewed&amp;page=2" in first
    second = _text(dpo, "/dpo/audit?event=record.viewed&page=2")
    assert "page 2 of 2" in second
    assert "Previous page" in second
    refused = _text(dpo, "/dpo/audit?upn=Z123&from=tomorrow&user=99999", status=400)
    assert "Enter the child&#39;s UPN" in refused
    assert "Enter a date as YYYY-MM-DD" in refused
    assert "Choose a person from the list" in refused
    assert 'value="Z123"' in refused  # What was typed stays in the form.


def test_audit_csv_cells_cannot_run_as_formulas(
    app: Flask, instance: Instance, world: World
) -> None:
    from exchange.records.models import User

    with transaction(instance.sessions) as session:
        session.get(User, world.user("sender", "dsl")).name = '=HYPERLINK("http://x","y")'
    dpo = _client(app, instance, world, "sender", "dpo")
    dsl = _client(app, instance, world, "sender", "dsl")
    assert dsl.get(f"/pupils/{world.pupil_id}").status_code == 200
    rows = _csv(dpo, f"/dpo/audit?user={world.user('sender', 'dsl')}&format=csv")
    assert rows
    assert {row["user"] for row in rows} == {'\'=HYPERLINK("http://x","y") (dsl)'}


def test_holds_are_placed_by_choosing_a_child_an_incident_or_a_category(
    app: Flask, instance: Instance, world: World
) -> None:
    dpo = _client(app, instance, world, "sender", "dpo")
    with instance.sessions() as session:
        from exchange.records.sealed_reads import pupil_upns

        other = session.scalar(
            select(Pupil.id).where(Pupil.school_id == world.sender_id, Pupil.id != world.pupil_id)
        )
        upns = pupil_upns(session, [world.pupil_id, other])
        incident = session.scalar(select(Incident.id).where(Incident.pupil_id == world.pupil_id))
    upn = upns[other]
    refused = post(dpo, "/dpo/holds", {"scope": "pupil", "upn": upn, "reason": ""}, status=400)
    assert "Give the reason for the hold" in refused
    assert f'value="{upn}"' in refused
    post(dpo, "/dpo/holds", {"scope": "pupil", "upn": upn, "reason": "Police inquiry"})
    listing = _text(dpo, f"/dpo/holds?child={upns[world.pupil_id]}")
    assert f"Incident {incident}," in listing  # The child's incidents to choose from.
    _no_names(listing)
    post(
        dpo,
        f"/dpo/holds?child={upns[world.pupil_id]}",
        {"scope": "incident", "incident": str(incident), "reason": "Complaint open"},
    )
    with instance.sessions() as session:
        path = session.get(Incident, incident).categories[0].path
    post(dpo, "/dpo/holds", {"scope": "category", "category": path, "reason": "IICSA moratorium"})
    page = _text(dpo, "/dpo/holds")
    _no_names(page)
    assert f"Child {_ref(instance, world.sender_id, upn)[:18]}…" in page
    assert f"Category {path}" in page
    assert "by Dpo 1" in page
    assert "Police inquiry" in page
    with instance.sessions() as session:
        holds = session.scalars(select(LegalHold).order_by(LegalHold.id)).all()
        assert [h.scope for h in holds] == ["pupil", "incident", "category"]
        assert holds[0].pupil_id == other
        first = holds[0].id
    post(dpo, f"/dpo/holds/{first}/release", {"reason": ""}, status=400)
    post(dpo, f"/dpo/holds/{first}/release", {"reason": "Inquiry closed"})
    released = _text(dpo, "/dpo/holds")
    assert "by Dpo 1: Inquiry closed" in released
    unknown = post(
        dpo, "/dpo/holds", {"scope": "pupil", "upn": "A123456789012", "reason": "x"}, 400
    )
    assert "UPN check letter" in unknown or "No child with this UPN" in unknown
    dsl = _client(app, instance, world, "sender", "dsl")
    assert "Reason to release" not in _text(dsl, "/dpo/holds")
    post(dsl, f"/dpo/holds/{holds[1].id}/release", {"reason": "no"}, status=403)


def test_the_forecast_covers_any_period_with_csv(
    app: Flask, instance: Instance, world: World
) -> None:
    with transaction(instance.sessions) as session:
        from exchange.retention.assign import recompute_pupil

        session.get(Pupil, world.pupil_id).date_of_birth = date.today().replace(
            year=date.today().year - 25
        ) + timedelta(days=200)
        recompute_pupil(session, world.sender_id, world.pupil_id)
    dpo = _client(app, instance, world, "sender", "dpo")
    assert "Nothing becomes due in this period." in _text(dpo, "/dpo/forecast")  # 90 days.
    later = (date.today() + timedelta(days=400)).isoformat()
    page = _text(dpo, f"/dpo/forecast?to={later}")
    _no_names(page)
    assert "1 children" in page
    rows = _csv(dpo, f"/dpo/forecast?to={later}&format=csv")
    assert len(rows) == 1
    assert rows[0]["incidents"] == "1"
    assert rows[0]["documents"] == "1"
    assert rows[0]["pupil reference"].startswith("pref1_")
    backwards = _text(dpo, f"/dpo/forecast?from={later}&to=2020-01-01", status=400)
    assert "must not be before its start" in backwards
    assert _audited(instance, world.sender_id, "dpo.forecast_exported") == 1


def test_purge_history_shows_the_review_the_approver_counts_and_certificate(
    app: Flask, instance: Instance, world: World, year: Year
) -> None:
    dpo = _client(app, instance, world, "sender", "dpo")
    page = _text(dpo, "/dpo/purges")
    _no_names(page)
    assert "Review 1 of pref1_" in page
    assert "by Dpo 1" in page
    assert "incidents: 1" in page
    assert "pupils removed: 1" in page
    link = f"/dpo/certificates/{year.certificate_id}.pdf"
    assert link in page
    pdf = dpo.get(link)
    assert pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    other = _client(app, instance, world, "receiver", "dpo")
    assert other.get(link).status_code == 404


def test_the_register_lists_transfers_and_disposals_as_csv_and_pdf(
    app: Flask, instance: Instance, world: World, year: Year, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    dpo = _client(app, instance, world, "sender", "dpo")
    ref = _ref(instance, world.sender_id, year.subject_upn)
    rows = _csv(dpo, "/dpo/register?format=csv")
    kinds = sorted(row["kind"] for row in rows)
    assert kinds == ["disposal", "transfer out"]
    assert {row["pupil reference"] for row in rows} == {ref}
    disposal = next(row for row in rows if row["kind"] == "disposal")
    assert disposal["status"] == "whole file destroyed"
    response = dpo.get("/dpo/register?format=pdf")
    assert response.mimetype == "application/pdf"
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    (tmp_path / "register.pdf").write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "register.pdf"), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Register of transfers and disposals" in text
    assert "1 transfers out, 0 transfers in, 1 disposals" in text
    assert "whole file destroyed" in text
    assert ref[:20] in text.replace("\n", "")
    _no_names(text)
    received = _csv(_client(app, instance, world, "receiver", "dpo"), "/dpo/register?format=csv")
    assert [row["kind"] for row in received] == ["transfer in"]  # Not the sender's disposal.
    empty = _csv(dpo, "/dpo/register?from=2020-01-01&to=2020-12-31&format=csv")
    assert empty == []
    assert _audited(instance, world.sender_id, "dpo.register_exported") == 3


def test_a_upn_leads_to_the_transfers_receipt_and_certificate_after_the_purge(
    app: Flask, instance: Instance, world: World, year: Year
) -> None:
    dpo = _client(app, instance, world, "sender", "dpo")
    page = _text(dpo, f"/dpo/lookup?upn={year.subject_upn}")
    _no_names(page)
    assert "This child's file was destroyed" in page
    assert f"/dpo/certificates/{year.certificate_id}.pdf" in page
    assert "/receipts/" in page
    assert "Verified" in page
    held = _text(dpo, f"/dpo/lookup?upn={year.other_upn}")
    assert "The school holds 0 incidents" in held
    assert "No certificate names this child." in held
    assert "Enter the child&#39;s UPN" in _text(dpo, "/dpo/lookup?upn=nonsense", status=400)
    other_school = _text(
        _client(app, instance, world, "receiver", "dpo"), f"/dpo/lookup?upn={year.subject_upn}"
    )
    assert "No certificate names this child." in other_school  # The sender's stays its own.
    assert "Incoming" in other_school
    with instance.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.event == "dpo.child_looked_up")
        ).first()
        assert entry is not None
        assert year.subject_upn.encode() not in entry.canonical


@pytest.mark.parametrize("role", ["dsl", "deputy_dsl", "admin"])
def test_other_roles_are_refused_where_the_dpo_alone_may_look(
    app: Flask, instance: Instance, world: World, role: str
) -> None:
    client = _client(app, instance, world, "sender", role)
    for url in ("/dpo/audit", "/dpo/register", "/dpo/register?format=pdf", "/dpo/lookup"):
        assert client.get(url).status_code == 403, (role, url)
    expected = 403 if role == "admin" else 200
    for url in ("/dpo", "/dpo/holds", "/dpo/forecast", "/dpo/purges"):
        assert client.get(url).status_code == expected, (role, url)


def test_another_schools_entries_never_appear(
    app: Flask, instance: Instance, world: World, year: Year
) -> None:
    other = _client(app, instance, world, "receiver", "dpo")
    rows = _csv(other, "/dpo/audit?format=csv")
    assert rows
    sender_names = {"Dsl 1 (dsl)", "Dpo 1 (dpo)"}
    assert not sender_names & {row["user"] for row in rows}
    assert "retention.disposal_approved" not in {row["event"] for row in rows}
    assert "No purge has run yet." in _text(other, "/dpo/purges")
    other_ref = _ref(instance, world.sender_id, year.subject_upn)
    assert other_ref not in other.get("/dpo/audit?format=csv").get_data(as_text=True)
