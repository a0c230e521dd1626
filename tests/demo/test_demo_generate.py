"""The generated demo: valid identifiers, known categories, realistic stories, stable output."""

from __future__ import annotations

import re
from datetime import date

from exchange.demo.generate import DemoData, generate_demo, school_year_start
from exchange.demo.people import SCHOOLS
from exchange.policy.presets import load_preset
from exchange.records.schools import validate_laestab, validate_urn
from exchange.records.upn import validate_upn

from .conftest import TODAY


def test_output_is_the_same_on_every_run(demo: DemoData) -> None:
    again = generate_demo(TODAY)
    assert again.records == demo.records
    assert again.files == demo.files


def test_schools_have_valid_identifiers_and_presets() -> None:
    assert len(SCHOOLS) == 2
    for school in SCHOOLS:
        assert validate_urn(school.urn) == school.urn
        assert validate_laestab(school.laestab) == school.laestab
    assert [school.preset for school in SCHOOLS] == ["bretherton", "holy_trinity"]


def test_each_school_has_the_four_roles_with_example_addresses(demo: DemoData) -> None:
    for school in SCHOOLS:
        people = demo.users[school.urn]
        assert sorted(person.role for person in people) == ["admin", "deputy_dsl", "dpo", "dsl"]
        for person in people:
            assert re.fullmatch(r"[a-z.]+@[a-z-]+\.example\.org", person.email), person.email


def test_a_dozen_primary_age_pupils_with_valid_upns(demo: DemoData) -> None:
    pupils = demo.records["pupils"]
    assert len(pupils) == 12
    assert len({pupil["upn"] for pupil in pupils}) == 12
    start = school_year_start(TODAY)
    for pupil in pupils:
        assert validate_upn(pupil["upn"]) == pupil["upn"]
        assert pupil["upn"][1:8] == SCHOOLS[0].laestab
        born = date.fromisoformat(pupil["date_of_birth"])
        age = start.year - born.year - ((start.month, start.day) < (born.month, born.day))
        assert 4 <= age <= 10, pupil["id"]


def test_some_pupils_leave_for_the_second_school(demo: DemoData) -> None:
    leaving = [pupil for pupil in demo.records["pupils"] if pupil.get("leaving_date")]
    assert 2 <= len(leaving) < 12
    assert {pupil["destination"]["urn"] for pupil in leaving} == {SCHOOLS[1].urn}


def test_incidents_use_the_sending_school_tree(demo: DemoData) -> None:
    paths = set(load_preset("bretherton").paths())
    used = {path for incident in demo.records["incidents"] for path in incident["categories"]}
    assert used <= paths
    tops = {path.split("/")[0] for path in used}
    for expected in (
        "Attendance",
        "Behaviour",
        "Bullying Allegation",
        "Safeguarding",
        "Special Educational Needs",
        "Medical",
        "Child protection plan",
    ):
        assert expected in tops


def test_chronologies_are_rich(demo: DemoData) -> None:
    incidents = demo.records["incidents"]
    pupil_ids = {pupil["id"] for pupil in demo.records["pupils"]}
    assert {incident["pupil"] for incident in incidents} == pupil_ids
    assert any(incident["linked_pupils"] for incident in incidents)
    assert all(
        set(incident["linked_pupils"]) <= pupil_ids - {incident["pupil"]} for incident in incidents
    )
    assert any(incident["actions"] for incident in incidents)
    assert {edit["field"] for incident in incidents for edit in incident["edits"]} >= {
        "narrative",
        "categories",
        "status",
    }
    assert any(incident["agencies"] for incident in incidents)
    assert any(incident["body_map"] for incident in incidents)
    assert {incident["status"] for incident in incidents} == {"open", "closed"}
    for incident in incidents:
        assert incident["recorded_at"] > incident["occurred_at"]
        assert all(action["acted_at"] > incident["recorded_at"] for action in incident["actions"])
        assert "{" not in incident["narrative"]


def test_linked_children_are_named_in_the_narrative(demo: DemoData) -> None:
    forenames = {pupil["id"]: pupil["forename"] for pupil in demo.records["pupils"]}
    for incident in demo.records["incidents"]:
        for linked in incident["linked_pupils"]:
            assert forenames[linked] in incident["narrative"], incident["id"]
