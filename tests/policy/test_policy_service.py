"""Applying presets, changing a mapping and resolving what an incident transfers as."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.errors import NotFound, ValidationError
from exchange.policy.classes import NOT_TRANSFERRED
from exchange.policy.presets import load_preset
from exchange.policy.service import (
    add_category,
    apply_preset,
    find_category,
    is_explicit,
    is_transferable,
    school_categories,
    set_transfer_class,
    transfer_class_of,
    transfer_classes_of,
)
from exchange.records.models import Category, Incident, Pupil, School
from exchange.records.upn import make_upn


def _count(session: Session, school: School) -> int:
    return session.scalar(select(func.count()).where(Category.school_id == school.id))


def test_apply_creates_the_whole_tree_once(session: Session, school: School) -> None:
    first = apply_preset(session, school, "holy_trinity")
    second = apply_preset(session, school, "holy_trinity")
    expected = len(load_preset("holy_trinity").paths())
    assert first.created == expected
    assert second.created == 0
    assert second.unchanged == expected
    assert _count(session, school) == expected
    assert [c.path for c in school_categories(session, school)] == load_preset(
        "holy_trinity"
    ).paths()


def test_apply_keeps_the_school_changes_unless_reset(session: Session, school: School) -> None:
    apply_preset(session, school, "holy_trinity")
    set_transfer_class(session, school, "Home Communication", "other_transfer")
    apply_preset(session, school, "holy_trinity")
    assert find_category(session, school, "Home Communication").transfer_class == "other_transfer"
    result = apply_preset(session, school, "holy_trinity", reset=True)
    assert result.remapped == 1
    assert find_category(session, school, "Home Communication").transfer_class is None


def test_subcategories_inherit_and_can_override(session: Session, school: School) -> None:
    apply_preset(session, school, "holy_trinity")
    lgbt = find_category(session, school, "Peer on peer abuse/LGBT")
    racist = find_category(session, school, "Peer on peer abuse/Racist")
    covid = find_category(session, school, "Health/COVID")
    legal = find_category(session, school, "Home Communication/Legal Proceedings")
    assert (transfer_class_of(lgbt), is_explicit(lgbt)) == ("child_on_child", False)
    assert (transfer_class_of(racist), is_explicit(racist)) == ("racism", True)
    assert covid.transfer_class == NOT_TRANSFERRED
    assert transfer_class_of(covid) is None
    assert transfer_class_of(legal) == "other_transfer"


def test_a_parent_change_reaches_inheriting_children(session: Session, school: School) -> None:
    apply_preset(session, school, "bretherton")
    set_transfer_class(session, school, "Attendance", None)
    assert transfer_class_of(find_category(session, school, "Attendance/Punctuality")) is None
    set_transfer_class(session, school, "Attendance/Punctuality", "attendance")
    set_transfer_class(session, school, "Attendance", "attendance")
    set_transfer_class(session, school, "Attendance/Punctuality", "inherit")
    punctuality = find_category(session, school, "Attendance/Punctuality")
    assert punctuality.transfer_class is None
    assert transfer_class_of(punctuality) == "attendance"


def test_bad_mappings_are_refused(session: Session, school: School) -> None:
    apply_preset(session, school, "bretherton")
    with pytest.raises(ValidationError, match="no parent"):
        set_transfer_class(session, school, "Behaviour", "inherit")
    with pytest.raises(ValidationError, match="unknown transfer class"):
        set_transfer_class(session, school, "Behaviour", "naughty")
    with pytest.raises(NotFound):
        set_transfer_class(session, school, "Nowhere", "sen")


def test_a_school_can_add_its_own_categories(session: Session, school: School) -> None:
    apply_preset(session, school, "holy_trinity")
    own = add_category(session, school, "Young carer", parent="Welfare Concern")
    assert own.path == "Welfare Concern/Young carer"
    assert transfer_class_of(own) == "other_transfer"
    top = add_category(session, school, "Trips", transfer_class="medical")
    assert transfer_class_of(top) == "medical"
    assert add_category(session, school, "Trips") is top
    with pytest.raises(ValidationError, match="two levels"):
        add_category(session, school, "Deeper", parent="Welfare Concern/Young carer")


def test_trees_belong_to_one_school(session: Session, school: School) -> None:
    from exchange.records.schools import add_school

    other = add_school(session, "100002", "8881002", "Other Primary School")
    apply_preset(session, school, "holy_trinity")
    apply_preset(session, other, "bretherton")
    assert _count(session, school) == len(load_preset("holy_trinity").paths())
    with pytest.raises(NotFound):
        find_category(session, other, "Peer on peer abuse")


def _incident(session: Session, school: School, *paths: str) -> Incident:
    pupil = Pupil(
        school_id=school.id,
        upn=make_upn(school.laestab, 18, len(paths)),
        forename="Test",
        surname="Child",
        date_of_birth=date(2016, 5, 1),
    )
    moment = datetime(2024, 1, 8, 10, 0, tzinfo=UTC)
    incident = Incident(
        school_id=school.id,
        pupil=pupil,
        occurred_at=moment,
        recorded_at=moment,
        narrative="Test narrative.",
        categories=[find_category(session, school, path) for path in paths],
    )
    session.add(incident)
    session.flush()
    return incident


def test_an_incident_transfers_when_any_category_does(session: Session, school: School) -> None:
    apply_preset(session, school, "holy_trinity")
    stays = _incident(session, school, "Home Communication/Parent App")
    goes = _incident(session, school, "Home Communication/Email from parent", "Peer on peer abuse")
    assert not is_transferable(stays)
    assert is_transferable(goes)
    assert transfer_classes_of(goes) == {"child_on_child"}
