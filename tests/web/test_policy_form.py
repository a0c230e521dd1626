"""The policy editor is one form with one save button: all changes saved together, or none."""

from __future__ import annotations

from flask import Flask
from flow import post
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.audit.models import AuditEntry
from exchange.instance import Instance
from exchange.policy.classes import INHERIT
from exchange.records.models import Category


def _categories(instance: Instance, school_id: int) -> list[Category]:
    with instance.sessions() as session:
        rows = session.scalars(select(Category).where(Category.school_id == school_id)).all()
        session.expunge_all()
        return list(rows)


def test_one_form_saves_every_change_at_once_or_none(
    app: Flask, instance: Instance, world: World
) -> None:
    admin = app.test_client()
    sign_in(admin, instance, world.user("sender", "admin"))
    categories = _categories(instance, world.sender_id)
    top = next(c for c in categories if c.parent_id is None)
    sub = next(c for c in categories if c.parent_id is not None)
    page = admin.get("/admin/policy").get_data(as_text=True)
    assert page.count("<form") == 2  # The policy and the sign-out button in the header.
    assert page.count('type="submit"') == 2
    assert page.count("<select") == len(categories)
    assert len(page.encode()) < 137_000

    refused = post(
        admin,
        "/admin/policy",
        {f"class-{top.id}": INHERIT, f"class-{sub.id}": "medical"},
        status=400,
    )
    assert f'id="class-{top.id}-error"' in refused
    assert f'href="#class-{top.id}"' in refused
    assert 'value="medical" selected' in refused  # What was chosen is kept.
    after_refusal = _categories(instance, world.sender_id)
    assert {c.id: c.transfer_class for c in after_refusal} == {
        c.id: c.transfer_class for c in categories
    }

    post(admin, "/admin/policy", {f"class-{top.id}": "sen", f"class-{sub.id}": "medical"})
    saved = {c.id: c.transfer_class for c in _categories(instance, world.sender_id)}
    assert saved[top.id] == "sen"
    assert saved[sub.id] == "medical"
    with instance.sessions() as session:
        changed = session.scalars(
            select(AuditEntry.object_id).where(
                AuditEntry.school_id == world.sender_id, AuditEntry.event == "policy.changed"
            )
        ).all()
    assert sorted(changed) == sorted([str(top.id), str(sub.id)])
