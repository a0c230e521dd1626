"""The school admin's pages: partners, keys, policy and API tokens (users: user_pages)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from sqlalchemy import select

from exchange.audit.service import record_event
from exchange.auth.models import ApiToken
from exchange.auth.permissions import API_SCOPES
from exchange.auth.tokens import issue_token, revoke_token
from exchange.errors import ExchangeError
from exchange.packaging.keys import all_public_keys, rotate_keys
from exchange.partners.card import SchoolCard
from exchange.partners.models import Partner
from exchange.partners.service import (
    confirm_partner,
    enrol_partner,
    is_confirmed,
    pending_safety_number,
)
from exchange.policy.classes import INHERIT, NOT_TRANSFERRED, TRANSFER_CLASSES
from exchange.policy.service import school_categories, set_transfer_class, transfer_class_of
from exchange.records.models import Category, User
from exchange.safe_json import JSONTooLarge, loads_bounded
from exchange.web.access import (
    audit_view,
    current_school,
    current_user,
    db,
    instance,
    own,
    requires,
    requires_fresh_second_factor,
)

admin_pages = Blueprint("admin_pages", __name__, url_prefix="/admin")

# A school card is a few keys and names; anything much bigger is not one.
MAX_CARD_BYTES = 64 * 1024


def _me() -> User:
    user = current_user()
    assert user is not None
    return user


@admin_pages.route("/partners", methods=["GET", "POST"])
@requires("view_partners")
def partners() -> Any:
    """List partner schools; a DSL confirms a partner's keys by the safety number read by phone."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        from flask import abort

        from exchange.auth.permissions import can

        if not can(_me().role, "confirm_partners"):
            abort(403)
        partner = own(Partner, int(request.form.get("partner_id", "0") or 0))
        try:
            confirm_partner(db(), partner, request.form.get("safety_number", ""), _me())
        except ExchangeError as exc:
            db().rollback()
            errors[f"safety_number-{partner.id}"] = exc.message
        else:
            return redirect(url_for("admin_pages.partners"))
    rows = []
    for partner in db().scalars(select(Partner).order_by(Partner.name)):
        confirmed = is_confirmed(db(), partner)
        number = None if confirmed or partner.offline else pending_safety_number(db(), partner)
        rows.append({"partner": partner, "confirmed": confirmed, "safety_number": number})
    return render_template("admin/partners.html", rows=rows, errors=errors), (
        400 if errors else 200
    )


@admin_pages.route("/partners/add", methods=["GET", "POST"])
@requires("manage_partners")
def add_partner() -> Any:
    """Add a partner (or its new keys) from the school card it sent; a DSL then confirms it."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        card, problem = _uploaded_card()
        if problem:
            errors["card"] = problem
        else:
            assert card is not None
            try:
                partner = enrol_partner(db(), _me().school_id, card)
            except ExchangeError as exc:
                db().rollback()
                errors["card"] = _sentence(str(exc))
            else:
                audit_view("partner.added_from_card", "partner", partner.urn)
                return redirect(url_for("admin_pages.partners"))
    return render_template(
        "admin/partner_add.html", errors=errors, max_kb=MAX_CARD_BYTES // 1024
    ), (400 if errors else 200)


def _uploaded_card() -> tuple[SchoolCard | None, str | None]:
    """Return the uploaded school card, or what is wrong with the file."""
    upload = request.files.get("card")
    if upload is None or not upload.filename:
        return None, "Choose the school card file the other school sent you"
    data = upload.stream.read(MAX_CARD_BYTES + 1)
    if len(data) > MAX_CARD_BYTES:
        return None, f"The file must be smaller than {MAX_CARD_BYTES // 1024} KB"
    try:
        parsed = loads_bounded(data)
    except (ValueError, JSONTooLarge):  # Not UTF-8, not JSON, or nested too deep.
        return None, "The file must be a school card in JSON"
    try:
        return SchoolCard.from_json(parsed), None
    except ExchangeError as exc:
        return None, _sentence(f"The school card is not valid: {exc}")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


@admin_pages.route("/keys")
@requires("manage_keys")
def keys() -> Any:
    """List the school's keys with their fingerprints."""
    rows = all_public_keys(db(), _me().school_id)
    return render_template("admin/keys.html", keys=rows)


@admin_pages.route("/keys/rotate", methods=["POST"])
@requires("manage_keys")
@requires_fresh_second_factor
def rotate() -> Any:
    """Retire the current keys and make new ones (partners must confirm them again)."""
    rotate_keys(db(), _me().school_id, instance().instance_key)

    me = _me()
    record_event(
        db(),
        me.school_id,
        me.id,
        me.role,
        "keys.rotated",
        "school",
        str(me.school_id),
        g.get("request_id"),
    )
    return redirect(url_for("admin_pages.keys"))


@admin_pages.route("/policy", methods=["GET", "POST"])
@requires("manage_policy")
def policy() -> Any:
    """Show the category tree and what each category transfers as; save them all in one form."""
    errors: dict[str, str] = {}
    categories = school_categories(db(), current_school())
    chosen: dict[int, str] = {}
    if request.method == "POST":
        chosen = _posted_choices(categories)
        if not chosen:
            errors["policy"] = "Choose what each category transfers as"
        for category in categories:
            value = chosen.get(category.id)
            if value is not None and value not in _choices(category):
                errors[f"class-{category.id}"] = "Choose what this category transfers as"
        if not errors:
            changed = _save_policy(categories, chosen, errors)
            if not errors:
                for category, previous, value in changed:
                    audit_view(
                        "policy.changed", "category", category.id, before=previous, after=value
                    )
                return redirect(url_for("admin_pages.policy"))
    rows = [
        {
            "category": c,
            "resolved": transfer_class_of(c),
            "selected": chosen.get(c.id, _selected(c)),
            "choices": _choices(c),
        }
        for c in categories
    ]
    return render_template("admin/policy.html", rows=rows, errors=errors, labels=_labels()), (
        400 if errors else 200
    )


def _posted_choices(categories: list[Category]) -> dict[int, str]:
    """Return the submitted value for each category (the one-category form is still read)."""
    form = request.form
    chosen = {c.id: form[f"class-{c.id}"] for c in categories if f"class-{c.id}" in form}
    single = form.get("category_id", "")
    if single:
        category = own(Category, int(single)) if single.isdigit() else None
        if category is not None:
            chosen[category.id] = form.get("transfer_class", "")
    return chosen


def _save_policy(
    categories: list[Category], chosen: dict[int, str], errors: dict[str, str]
) -> list[tuple[Category, str, str]]:
    """Apply every changed category, all or nothing; return (category, before, after)."""
    changed = []
    for category in categories:
        value, previous = chosen.get(category.id), _selected(category)
        if value is None or value == previous:
            continue
        try:
            set_transfer_class(db(), current_school(), category.path, value)
        except ExchangeError as exc:
            db().rollback()
            errors[f"class-{category.id}"] = _sentence(exc.message)
            return []
        changed.append((category, previous, value))
    return changed


def _labels() -> dict[str, str]:
    return {
        **TRANSFER_CLASSES,
        NOT_TRANSFERRED: "Stays at this school",
        INHERIT: "As its parent category",
    }


def _choices(category: Category) -> list[str]:
    """Return the values a category may take: a class, none, and for a subcategory inherit."""
    extra = [NOT_TRANSFERRED] if category.parent_id is None else [INHERIT, NOT_TRANSFERRED]
    return extra + list(TRANSFER_CLASSES)


def _selected(category: Category) -> str:
    """Return the category's own setting as one of its choices."""
    if category.transfer_class is None:
        return NOT_TRANSFERRED if category.parent_id is None else INHERIT
    return category.transfer_class


@admin_pages.route("/api-tokens", methods=["GET", "POST"])
@requires("manage_api_tokens")
def api_tokens() -> Any:
    """List, create and revoke the school's API tokens."""
    errors: dict[str, str] = {}
    secret = None
    if request.method == "POST":
        try:
            _row, secret = issue_token(
                db(),
                _me().school_id,
                request.form.get("name", ""),
                request.form.getlist("scopes"),
                _me().id,
            )
        except ExchangeError as exc:
            db().rollback()
            errors["name"] = exc.message
    rows = db().scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
    return render_template(
        "admin/api_tokens.html", tokens=rows, errors=errors, secret=secret, scopes=API_SCOPES
    ), (400 if errors else 200)


@admin_pages.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@requires("manage_api_tokens")
def revoke(token_id: int) -> Any:
    """Revoke an API token."""
    own(ApiToken, token_id)
    revoke_token(db(), _me().school_id, token_id)
    return redirect(url_for("admin_pages.api_tokens"))
