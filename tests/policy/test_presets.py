"""The shipped presets load and follow the two seed policies' category trees."""

from __future__ import annotations

import pytest

from exchange.errors import ValidationError
from exchange.policy.classes import INHERIT, TRANSFER_CLASSES
from exchange.policy.presets import load_preset, parse_preset, preset_names


def test_both_seed_trees_are_shipped() -> None:
    assert preset_names() == ["bretherton", "holy_trinity"]


@pytest.mark.parametrize(
    "path",
    [
        "Attendance",
        "Attendance/Punctuality",
        "Attendance/Parental Contract Offered",
        "Behaviour",
        "Bullying Allegation/Online",
        "Child in Need/CIN plan",
        "Child on Child Abuse/Confirmed Racial/Religious",
        "Child protection plan/Core group meeting",
        "Communication with home/Parent phone call",
        "Early Help/TAF",
        "Medical/Epipen /asthma",
        "LAC/CLA/PEP meeting",
        "Safeguarding/FGM",
        "Safeguarding/PREVENT referral",
        "Special Educational Needs/IEP",
        "Wellbeing concern/Diet related",
    ],
)
def test_bretherton_holds_the_appendix_categories(path: str) -> None:
    assert path in load_preset("bretherton").paths()


@pytest.mark.parametrize(
    "path",
    [
        "Attendance/Leave of Absence request",
        "Behaviour incident/Sexual behaviour",
        "CAF/Early Help Plan/TAF meeting",
        "Family Intensive Support",
        "Child Protection Incident/Encompass",
        "Child Protection Plan/CP conference",
        "CLA and Post CLA/Care Planning",
        "Health/COVID",
        "Home Communication/Parent App",
        "Mental Well Being/ELSA",
        "Peer on peer abuse/Racist",
        "SEND/EHCP",
        "Welfare Concern/Hygiene",
    ],
)
def test_holy_trinity_holds_the_section_8_categories(path: str) -> None:
    assert path in load_preset("holy_trinity").paths()


def test_holy_trinity_has_the_thirteen_top_level_categories() -> None:
    tops = [category.name for category in load_preset("holy_trinity").categories]
    assert len(tops) == 13
    assert tops[0] == "Attendance"
    assert tops[-1] == "Welfare Concern"


def test_every_transfer_class_is_used_by_each_preset() -> None:
    for name in preset_names():
        used = set()
        for top in load_preset(name).categories:
            used.add(top.transfer)
            used.update(child.transfer for child in top.subcategories)
        assert set(TRANSFER_CLASSES) <= used, name


@pytest.mark.parametrize(
    ("preset", "top", "expected"),
    [
        ("holy_trinity", "Attendance", "attendance"),
        ("holy_trinity", "Behaviour incident", "serious_behaviour"),
        ("holy_trinity", "Peer on peer abuse", "child_on_child"),
        ("holy_trinity", "Child Protection Incident", "child_protection"),
        ("holy_trinity", "Child Protection Plan", "child_protection"),
        ("holy_trinity", "SEND", "sen"),
        ("holy_trinity", "Health", "medical"),
        ("holy_trinity", "Home Communication", None),
        ("bretherton", "Behaviour", "serious_behaviour"),
        ("bretherton", "Bullying Allegation", "bullying"),
        ("bretherton", "Communication with home", None),
        ("bretherton", "Friendship / relationship and social issues", None),
    ],
)
def test_top_level_mapping(preset: str, top: str, expected: str | None) -> None:
    by_name = {category.name: category for category in load_preset(preset).categories}
    assert by_name[top].transfer == expected


def test_subcategories_inherit_unless_overridden() -> None:
    peer = next(c for c in load_preset("holy_trinity").categories if c.name == "Peer on peer abuse")
    by_name = {child.name: child.transfer for child in peer.subcategories}
    assert by_name["Racist"] == "racism"
    assert by_name["LGBT"] == INHERIT


def test_a_preset_with_an_unknown_class_is_refused() -> None:
    data = {
        "format": "sgx-policy-preset/1",
        "name": "bad",
        "categories": [{"name": "Attendance", "transfer": "truancy"}],
    }
    with pytest.raises(ValidationError, match="truancy"):
        parse_preset(data)


def test_a_preset_with_a_duplicate_subcategory_is_refused() -> None:
    data = {
        "format": "sgx-policy-preset/1",
        "name": "bad",
        "categories": [
            {"name": "Safeguarding", "transfer": None, "subcategories": [{"name": "FGM"}] * 2}
        ],
    }
    with pytest.raises(ValidationError, match="FGM"):
        parse_preset(data)


def test_an_unknown_preset_is_refused() -> None:
    with pytest.raises(ValidationError, match="known presets"):
        load_preset("nowhere")
