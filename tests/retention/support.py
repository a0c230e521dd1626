"""Build a school with categories, keys, users, pupils, records and files for the tests."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

from factories import fake, pupil, school
from sqlalchemy.orm import Session

from exchange.instance import Instance
from exchange.packaging.keys import generate_keys
from exchange.records.models import (
    Category,
    Incident,
    IncidentAction,
    Pupil,
    School,
    User,
    VaultDocument,
)
from exchange.records.schools import add_user
from exchange.retention.actors import Actor
from exchange.retention.assign import recompute_pupil
from exchange.vault.pupil_keys import blob_context, pupil_data_key

CATEGORY_PATHS = (
    "Child Protection",
    "Child Protection/Sexual abuse",
    "Child Protection/Neglect",
    "SEN",
    "SEN/EHCP review",
    "Bullying",
)


@dataclass
class World:
    """The school, its categories by path and a DSL and DPO as actors."""

    school: School
    categories: dict[str, Category]
    dsl: Actor
    dpo: Actor


def build_world(
    session: Session, instance: Instance, number: int = 1, *, automatic: bool = True
) -> World:
    """Create a school with keys, a category tree, a DSL and a DPO (automatic disposal)."""
    row = school(session, number)
    categories: dict[str, Category] = {}
    for path in CATEGORY_PATHS:
        parent_path, _, name = path.rpartition("/")
        category = Category(
            school_id=row.id,
            parent=categories.get(parent_path),
            name=name,
            path=path,
        )
        session.add(category)
        categories[path] = category
    generate_keys(session, row.id, instance.instance_key)
    users: list[User] = [
        add_user(session, row, role, fake.name(), f"{role}{number}@school{number}.example")
        for role in ("dsl", "dpo")
    ]
    session.flush()
    if automatic:
        set_automatic(session, row)
    return World(row, categories, Actor(users[0].id, "dsl"), Actor(users[1].id, "dpo"))


def add_incident(
    session: Session,
    world: World,
    about: Pupil,
    paths: tuple[str, ...] = ("Bullying",),
    narrative: str | None = None,
    actions: int = 1,
) -> Incident:
    """Add an incident in some categories, with generated narrative and actions."""
    record = Incident(
        school_id=world.school.id,
        pupil_id=about.id,
        occurred_at=datetime(2020, 3, 3, 9, 15, tzinfo=UTC),
        recorded_at=datetime(2020, 3, 3, 11, 0, tzinfo=UTC),
        narrative=narrative or f"{about.forename} said {fake.sentence()}",
        status="open",
        categories=[world.categories[path] for path in paths],
    )
    session.add(record)
    session.flush()
    for number in range(actions):
        session.add(
            IncidentAction(
                school_id=world.school.id,
                incident_id=record.id,
                source_id=f"a{number}",
                text=f"Spoke to {about.forename} {about.surname}: {fake.sentence()}",
                acted_at=datetime(2020, 3, 4, 9, 0, tzinfo=UTC),
            )
        )
    session.flush()
    return record


def add_document(
    session: Session,
    instance: Instance,
    about: Pupil,
    content: bytes,
    incident: Incident | None = None,
    media_type: str = "application/pdf",
) -> VaultDocument:
    """Store an encrypted vault file for a pupil."""
    key = pupil_data_key(session, about, instance.instance_key)
    blob = instance.blobs.write(key, blob_context(about), io.BytesIO(content), 10_000_000)
    document = VaultDocument(
        school_id=about.school_id,
        pupil_id=about.id,
        incident_id=incident.id if incident else None,
        original_filename=f"{about.surname} plan.pdf",
        media_type=media_type,
        size=blob.size,
        sha256=blob.sha256,
        storage_key=blob.storage_key,
    )
    session.add(document)
    session.flush()
    return document


def add_pupil(
    session: Session, world: World, date_of_birth: date | None = date(2008, 5, 17)
) -> Pupil:
    """Add a pupil with generated names and a DOB."""
    return pupil(session, world.school, date_of_birth=date_of_birth)


def date_all(session: Session, world: World, *pupils: Pupil) -> None:
    """Give every record of the pupils its retention date."""
    for about in pupils:
        recompute_pupil(session, world.school.id, about.id)


def set_category_rule(
    session: Session, school_id: int, path: str, rule: str, actor: Actor
) -> object:
    """Save a category rule at once, as a change does once its notice period is over."""
    from exchange.retention.ruleset import category_change, proposed_rules, save_rule_set

    rules = proposed_rules(session, school_id, category_change(path, rule))
    return save_rule_set(session, school_id, rules, actor)


def set_sender_copy(session: Session, school_id: int, value: object, actor: Actor) -> object:
    """Save the sender-copy setting at once, as after the notice period."""
    from exchange.retention.ruleset import proposed_rules, save_rule_set, sender_copy_change

    rules = proposed_rules(session, school_id, sender_copy_change(value))
    return save_rule_set(session, school_id, rules, actor)


def set_automatic(session: Session, school: School, on: bool = True) -> None:
    """Choose automatic disposal (no review) for a school, as its DPO may."""
    from exchange.retention.settings import store

    store(session.get(School, school.id), "automatic_disposal", on)
    session.flush()
