"""An admin adds a partner from its school card, a DSL confirms it; the admin edits the policy."""

from __future__ import annotations

import io
import json

from flask import Flask
from flask.testing import FlaskClient
from flow import post
from sqlalchemy import select
from sqlalchemy.orm import Session
from transfer_kit import school_with_keys
from web_kit import World, sign_in

from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.models import Partner
from exchange.partners.service import is_confirmed, own_card, pending_safety_number
from exchange.records.models import Category


def _actors(session: Session, event: str) -> list[int]:
    """Return who did each audited event of this kind."""
    entries = session.scalars(select(AuditEntry).where(AuditEntry.event == event))
    return [int(json.loads(entry.canonical)["actor"]["user"]) for entry in entries]


def _card_of_new_school(instance: Instance) -> tuple[bytes, str]:
    with transaction(instance.sessions) as session:
        school = school_with_keys(session, instance, 3, "bretherton")
        card = own_card(session, school, "https://exchange.flow-school-3.example.org")
        return json.dumps(card.to_json()).encode(), school.urn


def _upload(client: FlaskClient, data: bytes, status: int) -> str:
    return post(
        client,
        "/admin/partners/add",
        {"card": (io.BytesIO(data), "card.json")},  # type: ignore[dict-item]
        status=status,
    )


def test_an_admin_adds_a_partner_from_its_card_and_a_dsl_confirms_it(
    app: Flask, instance: Instance, world: World
) -> None:
    admin, dsl = app.test_client(), app.test_client()
    sign_in(admin, instance, world.user("sender", "admin"))
    sign_in(dsl, instance, world.user("sender", "dsl"))
    card, urn = _card_of_new_school(instance)
    assert "/admin/partners/add" in admin.get("/admin/partners").get_data(as_text=True)
    assert "/admin/partners/add" not in dsl.get("/admin/partners").get_data(as_text=True)

    for bad, message in (
        (b"not json", "must be a school card in JSON"),
        (b"[" * 30_000 + b"]" * 30_000, "must be a school card in JSON"),  # Not a RecursionError.
        (b'{"format": "something else"}', "The school card is not valid"),
        (b"{" + b" " * 70_000 + b"}", "must be smaller than"),
    ):
        page = _upload(admin, bad, 400)
        assert message in page
        assert 'id="card-error"' in page
        assert 'href="#card"' in page
    refused = post(admin, "/admin/partners/add", {}, status=400)
    assert "Choose the school card file" in refused
    with instance.sessions() as session:
        assert session.scalar(select(Partner).where(Partner.urn == urn)) is None

    _upload(admin, card, 302)
    with instance.sessions() as session:
        partner = session.scalar(
            select(Partner).where(Partner.school_id == world.sender_id, Partner.urn == urn)
        )
        assert not is_confirmed(session, partner)
        number = pending_safety_number(session, partner)
        partner_id = partner.id
        assert _actors(session, "partner.added_from_card") == [world.user("sender", "admin")]
    listed = dsl.get("/admin/partners").get_data(as_text=True)
    assert number in listed
    post(dsl, "/admin/partners", {"partner_id": str(partner_id), "safety_number": number})
    with instance.sessions() as session:
        assert is_confirmed(session, session.get(Partner, partner_id))


def test_an_admin_changes_what_a_category_transfers_as(
    app: Flask, instance: Instance, world: World
) -> None:
    admin = app.test_client()
    sign_in(admin, instance, world.user("sender", "admin"))
    with instance.sessions() as session:
        categories = session.scalars(
            select(Category).where(Category.school_id == world.sender_id)
        ).all()
        top = next(c for c in categories if c.parent_id is None)
        sub = next(c for c in categories if c.parent_id is not None)
        top_id, sub_id, top_path = top.id, sub.id, top.path
    page = admin.get("/admin/policy").get_data(as_text=True)
    assert f'id="class-{top_id}"' in page

    refused = post(
        admin, "/admin/policy", {"category_id": str(top_id), "transfer_class": "inherit"}, 400
    )
    assert f'id="class-{top_id}-error"' in refused
    assert f'href="#class-{top_id}"' in refused

    post(admin, "/admin/policy", {"category_id": str(top_id), "transfer_class": "medical"})
    post(admin, "/admin/policy", {"category_id": str(sub_id), "transfer_class": "none"})
    with instance.sessions() as session:
        assert session.get(Category, top_id).transfer_class == "medical"
        assert session.get(Category, sub_id).transfer_class == "none"
        assert _actors(session, "policy.changed") == [world.user("sender", "admin")] * 2
    assert top_path in admin.get("/admin/policy").get_data(as_text=True)

    other = app.test_client()
    sign_in(other, instance, world.user("receiver", "admin"))
    post(other, "/admin/policy", {"category_id": str(top_id), "transfer_class": "sen"}, 404)
