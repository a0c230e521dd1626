"""Where records received from other schools are filed: one category per shared transfer class."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from exchange.audit.service import record_event
from exchange.errors import ExchangeError
from exchange.policy.classes import TRANSFER_CLASSES
from exchange.policy.incoming import default_category, mapping_table, set_mapping
from exchange.policy.service import school_categories
from exchange.web.access import current_school, current_user, db, requires

incoming_categories = Blueprint("incoming_categories", __name__, url_prefix="/admin/policy")

DEFAULT = ""  # The form's value for "the default for this class".


@incoming_categories.route("/incoming", methods=["GET", "POST"])
@requires("manage_policy")
def mapping() -> Any:
    """Show the class-to-category mapping as one form; save every row at once."""
    session, school = db(), current_school()
    errors: dict[str, str] = {}
    if request.method == "POST":
        changes: dict[str, str | None] = {}
        for transfer_class in TRANSFER_CLASSES:
            chosen = request.form.get(f"class-{transfer_class}", DEFAULT)
            try:
                set_mapping(session, school, transfer_class, chosen or None)
            except ExchangeError as refused:
                errors[f"class-{transfer_class}"] = refused.message
            changes[transfer_class] = chosen or None
        if not errors:
            user = current_user()
            assert user is not None
            record_event(
                session, school.id, user.id, user.role, "policy.incoming_mapped",
                "school", school.id, details={"mapping": changes},
            )  # fmt: skip
            return redirect(url_for("incoming_categories.mapping", saved=1))
        session.rollback()
    rows = [
        {
            "transfer_class": transfer_class,
            "label": TRANSFER_CLASSES[transfer_class],
            "path": path,
            "chosen": chosen,
            "default": getattr(default_category(session, school, transfer_class), "path", None),
        }
        for transfer_class, path, chosen in mapping_table(session, school)
    ]
    return render_template(
        "admin/incoming.html",
        rows=rows,
        categories=[category.path for category in school_categories(session, school)],
        posted=request.form,
        errors=errors,
        saved=request.args.get("saved") == "1",
    ), (400 if errors else 200)
