"""Destinations beyond partner schools: each identifier checked by its own rules."""

from __future__ import annotations

import pytest
from transfer_kit import school_with_keys

from exchange.db import transaction
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.partners import destinations as d

CONTACT = {
    "name": "Example School",
    "contact_name": "Sam Jones",
    "contact_email": "dsl@example.org",
}


@pytest.mark.parametrize(
    ("kind", "identifier", "expected"),
    [
        (d.ENGLISH_SCHOOL, "100 000", "100000"),
        (d.WELSH_SCHOOL, "681-2001", "6812001"),
        (d.WELSH_SCHOOL, "660/4012", "6604012"),
        (d.SCOTTISH_SCHOOL, "5244439", "5244439"),
        (d.NORTHERN_IRISH_SCHOOL, "1016543", "101-6543"),
        (d.NORTHERN_IRISH_SCHOOL, "101-6543", "101-6543"),
    ],
)
def test_each_nation_names_its_schools_its_own_way(
    kind: str, identifier: str, expected: str
) -> None:
    assert d.validate(kind, identifier=identifier, **CONTACT).identifier == expected


@pytest.mark.parametrize(
    ("kind", "identifier", "words"),
    [
        (d.ENGLISH_SCHOOL, "12345", "6 digits"),
        (d.ENGLISH_SCHOOL, "012345", "6 digits"),
        (d.WELSH_SCHOOL, "123456", "7-digit LA and establishment"),
        (d.WELSH_SCHOOL, "2011234", "201 is not a Welsh local authority"),
        (d.SCOTTISH_SCHOOL, "52444", "SEED code"),
        (d.SCOTTISH_SCHOOL, "100000", "SEED code"),
        (d.NORTHERN_IRISH_SCHOOL, "12-34567", "3 and 4 digits"),
        (d.NORTHERN_IRISH_SCHOOL, "ABC-1234", "3 and 4 digits"),
    ],
)
def test_a_wrong_identifier_says_what_is_expected(kind: str, identifier: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as refused:
        d.validate(kind, identifier=identifier, **CONTACT)
    assert refused.value.where in ("urn", "identifier")


def test_the_laestab_of_an_english_school_is_checked_when_given() -> None:
    ok = d.validate(d.ENGLISH_SCHOOL, identifier="100000", laestab="202/4000", **CONTACT)
    assert (ok.urn, ok.laestab) == ("100000", "2024000")
    with pytest.raises(ValidationError, match="LA code"):
        d.validate(d.ENGLISH_SCHOOL, identifier="100000", laestab="1004000", **CONTACT)


def test_a_school_abroad_needs_a_country_and_an_address() -> None:
    with pytest.raises(ValidationError, match="country"):
        d.validate(d.SCHOOL_ABROAD, address="1 Rue X, Lyon", **CONTACT)
    with pytest.raises(ValidationError, match="address"):
        d.validate(d.SCHOOL_ABROAD, country="France", **CONTACT)
    abroad = d.validate(d.SCHOOL_ABROAD, country="France", address="1 Rue X\nLyon", **CONTACT)
    assert (abroad.country, abroad.address, abroad.urn) == ("France", "1 Rue X Lyon", None)


def test_an_independent_school_has_a_urn_or_an_address() -> None:
    plain = d.validate(d.INDEPENDENT_SCHOOL, address="Hill Road, Bath", **CONTACT)
    assert plain.urn is None
    with_urn = d.validate(
        d.INDEPENDENT_SCHOOL, identifier="109876", address="Hill Road, Bath", **CONTACT
    )
    assert with_urn.urn == "109876"
    with pytest.raises(ValidationError, match="address"):
        d.validate(d.INDEPENDENT_SCHOOL, identifier="109876", **CONTACT)


def test_a_local_authority_needs_its_code_a_named_officer_and_a_purpose() -> None:
    base = {"name": "Example Council", "contact_email": "cme@example.org"}
    with pytest.raises(ValidationError, match="named officer"):
        d.validate(d.LOCAL_AUTHORITY, identifier="202", purpose="missing_education", **base)
    with pytest.raises(ValidationError, match="why the file goes"):
        d.validate(d.LOCAL_AUTHORITY, identifier="202", contact_name="Pat Lee", **base)
    with pytest.raises(ValidationError, match="3-digit LA code"):
        d.validate(
            d.LOCAL_AUTHORITY,
            identifier="999",
            contact_name="Pat Lee",
            purpose="missing_education",
            **base,
        )
    la = d.validate(
        d.LOCAL_AUTHORITY,
        identifier="681",
        contact_name="Pat Lee",
        purpose="elective_home_education",
        **base,
    )
    assert (la.identifier, la.purpose) == ("681", "elective_home_education")


def test_a_receiver_needs_a_name_and_a_real_email() -> None:
    with pytest.raises(ValidationError, match="email"):
        d.validate(
            d.SCOTTISH_SCHOOL, identifier="5244439", name="X", contact_name="Y", contact_email="y@"
        )
    with pytest.raises(ValidationError, match="receiving DSL"):
        d.validate(d.SCOTTISH_SCHOOL, identifier="5244439", name="X", contact_email="y@x.org")
    with pytest.raises(ValidationError, match="choose where"):
        d.validate("moon_base", **CONTACT)


def test_destinations_are_kept_once_and_never_replace_a_school_on_the_service(
    instance: Instance,
) -> None:
    with transaction(instance.sessions) as session:
        school = school_with_keys(session, instance, 1, "bretherton")
        scot = d.validate(d.SCOTTISH_SCHOOL, identifier="5244439", **CONTACT)
        first = d.keep(session, school.id, scot)
        again = d.keep(session, school.id, scot)
        assert first.id == again.id
        assert first.offline
        assert first.reference == "scottish_school:5244439"
        unknown = d.keep(session, school.id, d.validate(d.UNKNOWN))
        assert d.keep(session, school.id, d.validate(d.UNKNOWN)).id == unknown.id
        assert d.describe(unknown) == "Destination unknown (children missing education)"
        other = school_with_keys(session, instance, 2, "holy_trinity")
        from exchange.partners.service import enrol_partner, own_card

        online = enrol_partner(session, school.id, own_card(session, other, "http://b.example"))
        with pytest.raises(ValidationError, match="runs this service"):
            d.keep(
                session,
                school.id,
                d.validate(d.ENGLISH_SCHOOL, identifier=online.urn, **CONTACT),
            )
