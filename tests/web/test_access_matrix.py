"""Every page, every role, own school, other school and anonymous: the expected status."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from flow import complete, csrf_token, start_and_offer
from offline_kit import authorised_offline_transfer
from web_kit import ROLES, World, sign_in

from exchange.instance import Instance

DSL, DPO, ADMIN = {"dsl", "deputy_dsl"}, {"dpo"}, {"admin"}
# (path template, roles that may open it); {p} is a pupil id, {t} a transfer id, {o} an
# exported offline transfer.
PAGES: list[tuple[str, set[str]]] = [
    ("/leavers", DSL),
    ("/pupils/{p}", DSL),
    ("/transfers", DSL | DPO),
    ("/transfers/{t}", DSL | DPO),
    ("/transfers/{t}/items", DSL),
    ("/transfers/{t}/redactions", DSL),
    ("/transfers/{t}/conversation", DSL),
    ("/transfers/{t}/authorise", DSL),
    ("/transfers/{t}/chronology", DSL),
    ("/transfers/{t}/withdraw", DSL),
    ("/transfers/{t}/retry", DSL),
    ("/transfers/{o}/export", DSL),
    ("/transfers/{o}/export/download", DSL),
    ("/transfers/{o}/receipt-code", DSL),
    ("/receipts", DSL | DPO),
    ("/receipts/{t}/verify", DSL | DPO),
    ("/receipts/{t}/evidence.zip", DSL | DPO),
    ("/retention", DSL | DPO),
    ("/retention/settings", DPO),
    ("/audit", DPO),
    ("/admin/users", ADMIN),
    ("/approvals", {"dsl", "dpo"}),
    ("/admin/partners", ADMIN | DSL),
    ("/admin/partners/add", ADMIN),
    ("/admin/keys", ADMIN),
    ("/admin/policy", ADMIN),
    ("/admin/api-tokens", ADMIN),
]
# Words of the child's narrative, action text and conversation summary.
CASE_CONTENT = ("pushed her at break", "Spoke to", "trusted adult", "minutes.pdf")


def _closed_transfer(app: Flask, instance: Instance, world: World) -> int:
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    complete(sender, receiver, instance, world.receiver_id, transfer_id)
    return transfer_id


def _exported_offline_transfer(app: Flask, instance: Instance, world: World) -> int:
    from flow import post

    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    transfer_id = authorised_offline_transfer(client, instance, world.sender_id, world.pupil_id)
    post(client, f"/transfers/{transfer_id}/export", status=200)
    return transfer_id


def _get(client: FlaskClient, path: str) -> tuple[int, str]:
    with client.get(path) as response:
        return response.status_code, response.get_data().decode(errors="replace")


def test_every_page_answers_each_role_as_need_to_know_says(
    app: Flask, instance: Instance, world: World
) -> None:
    transfer_id = _closed_transfer(app, instance, world)
    offline_id = _exported_offline_transfer(app, instance, world)
    failures = []
    for template, allowed in PAGES:
        path = template.format(p=world.pupil_id, t=transfer_id, o=offline_id)
        anonymous = app.test_client().get(path)
        if anonymous.status_code != 302 or "/login" not in anonymous.headers["Location"]:
            failures.append((path, "anonymous", anonymous.status_code))
        for role in ROLES:
            for school in ("sender", "receiver"):
                client = app.test_client()
                sign_in(client, instance, world.user(school, role))
                status, body = _get(client, path)
                own_object = school == "sender" or "{" not in template
                expected = (200 if own_object else 404) if role in allowed else 403
                if status != expected:
                    failures.append((path, role, school, status, expected))
                if role in DPO | ADMIN:
                    leaked = [word for word in CASE_CONTENT if word in body]
                    if leaked:
                        failures.append((path, role, school, "leaks", leaked))
    assert failures == []


# (path template, roles that may post, a form the service refuses, the allowed role's status).
# The forms are incomplete, so an allowed post changes nothing and answers 400.
FORMS: list[tuple[str, set[str], dict[str, str], int]] = [
    ("/transfers/{t}/withdraw", DSL, {"reason": ""}, 400),
    ("/transfers/{t}/retry", DSL, {}, 400),
    ("/transfers/{o}/export", DSL, {}, 400),
    ("/transfers/{o}/receipt-code", DSL, {"code": "", "confirmed_by": ""}, 400),
    ("/transfers/{t}/redactions", DSL, {"review_id": "", "resolution": ""}, 400),
    ("/admin/partners/add", ADMIN, {}, 400),
    ("/admin/policy", ADMIN, {"category_id": "", "transfer_class": ""}, 400),
]


def test_every_new_form_refuses_roles_and_schools_as_need_to_know_says(
    app: Flask, instance: Instance, world: World
) -> None:
    transfer_id = _closed_transfer(app, instance, world)
    offline_id = _exported_offline_transfer(app, instance, world)
    failures = []
    for template, allowed, form, allowed_status in FORMS:
        path = template.format(p=world.pupil_id, t=transfer_id, o=offline_id)
        anonymous = app.test_client()
        response = anonymous.post(path, data={"csrf_token": csrf_token(anonymous), **form})
        if response.status_code != 302 or "/login" not in response.headers["Location"]:
            failures.append((path, "anonymous", response.status_code))
        for role in ROLES:
            for school in ("sender", "receiver"):
                client = app.test_client()
                sign_in(client, instance, world.user(school, role))
                response = client.post(path, data={"csrf_token": csrf_token(client), **form})
                own_object = school == "sender" or "{" not in template
                expected = (allowed_status if own_object else 404) if role in allowed else 403
                if response.status_code != expected:
                    failures.append((path, role, school, response.status_code, expected))
    assert failures == []


def test_a_dsl_of_another_school_cannot_start_a_transfer_of_our_child(
    app: Flask, instance: Instance, world: World
) -> None:
    from flow import post

    client = app.test_client()
    sign_in(client, instance, world.user("receiver", "dsl"))
    post(client, f"/transfers/new/{world.pupil_id}", {"partner_id": "1"}, status=404)


def test_the_dpo_cannot_post_a_dsl_step(app: Flask, instance: Instance, world: World) -> None:
    from flow import post

    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dpo"))
    post(client, f"/transfers/new/{world.pupil_id}", {"partner_id": "1"}, status=403)
