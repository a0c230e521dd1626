"""The signed-in user's own account: change their password."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, session, url_for

from exchange.audit.service import record_event
from exchange.auth.own_password import change_own_password
from exchange.auth.sessions import LOCKED_OUT, end_user_sessions, start_session
from exchange.auth.signin import is_locked
from exchange.errors import ValidationError
from exchange.web.access import current_user, db, instance
from exchange.web.setup import limiter

account_pages = Blueprint("account_pages", __name__)


@account_pages.route("/account/password", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def change_password() -> Any:
    """Change the signed-in user's password; every other session of theirs ends."""
    user = current_user()
    if user is None:
        return redirect(url_for("signin.login", next=request.path))
    errors: dict[str, str] = {}
    done = session.pop("password_changed", False)
    if request.method == "POST":
        form = request.form
        try:
            change_own_password(
                db(),
                user,
                instance().instance_key,
                current=form.get("current_password", ""),
                new=form.get("new_password", ""),
                repeated=form.get("confirm_password", ""),
                code=form.get("code", ""),
            )
        except ValidationError as exc:
            errors[exc.where or "current_password"] = exc.message
            if is_locked(db(), user):
                end_user_sessions(db(), user.id, LOCKED_OUT)
                db().commit()
                session.clear()
                session["ended"] = LOCKED_OUT
                return redirect(url_for("signin.login"))
            db().commit()  # Keep the failure count though the answer is an error.
        else:
            record_event(
                db(), user.school_id, user.id, user.role, "auth.password_changed", "user",
                str(user.id), g.get("request_id"),
            )  # fmt: skip
            # Every session ended with the change; this browser carries on in a new one.
            session.clear()
            session.permanent = True
            session["sid"] = start_session(db(), user, second_factor=True)
            session["password_changed"] = True
            return redirect(url_for("account_pages.change_password"))
    return render_template("account/password.html", errors=errors, done=done), (
        400 if errors else 200
    )
