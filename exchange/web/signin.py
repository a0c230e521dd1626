"""Sign in with a password and a TOTP code; enrol; confirm again; accept an invitation."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from sqlalchemy import select

from exchange.audit.service import record_event
from exchange.auth import totp
from exchange.auth.invitations import accept_invitation, open_invitation
from exchange.auth.permissions import needs_second_factor
from exchange.auth.sessions import (
    ENDED_BECAUSE,
    LOCKED_OUT,
    SIGNED_OUT,
    confirm_second_factor,
    end_user_sessions,
    start_session,
)
from exchange.auth.signin import check_password_sign_in, is_locked, record_second_factor_failure
from exchange.errors import ValidationError
from exchange.records.models import User
from exchange.web.access import current_user, db, instance, safe_next, web_session
from exchange.web.setup import limiter

signin = Blueprint("signin", __name__)
PENDING_SECONDS = 600
WRONG_DETAILS = "Enter a correct email address and password"
WRONG_RECOVERY_CODE = "That recovery code is wrong or has already been used"
LOCKED = "Too many attempts. Wait 15 minutes and try again"


def _audit(user: User, event: str) -> None:
    record_event(
        db(), user.school_id, user.id, user.role, event, "user", str(user.id), g.get("request_id")
    )


def _pending_user() -> User | None:
    user_id, started = session.get("pending_user_id"), session.get("pending_at", 0)
    if user_id is None or time.time() - float(started) > PENDING_SECONDS:
        return None
    return db().scalar(select(User).where(User.id == int(user_id), User.is_active.is_(True)))


def _finish_sign_in(user: User, *, second_factor: bool) -> Any:
    target = safe_next(session.get("pending_next"))
    session.clear()
    session.permanent = True
    # The cookie carries only the session's random id; everything else is in the row.
    session["sid"] = start_session(db(), user, second_factor=second_factor)
    _audit(user, "auth.signed_in")
    return redirect(target)


@signin.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def login() -> Any:
    """Ask for an email address and password."""
    errors: dict[str, str] = {}
    email = request.form.get("email", "")
    ended = ENDED_BECAUSE.get(session.pop("ended", ""), None)
    if request.method == "POST":
        password = request.form.get("password", "")
        if not email.strip():
            errors["email"] = "Enter your email address"
        if not password:
            errors["password"] = "Enter your password"  # noqa: S105  (a message)
        if not errors:
            result = check_password_sign_in(db(), email, password)
            db().commit()  # Keep failure counts even though the answer is an error.
            if result.user is None:
                errors["email"] = LOCKED if result.locked else WRONG_DETAILS
            else:
                next_path = request.args.get("next")
                session.clear()
                session["pending_user_id"] = result.user.id
                session["pending_at"] = time.time()
                session["pending_next"] = safe_next(next_path)
                if not needs_second_factor(result.user.role):
                    return _finish_sign_in(result.user, second_factor=False)
                if not totp.is_enrolled(db(), result.user):
                    return redirect(url_for("signin.enrol"))
                return redirect(url_for("signin.second_factor"))
    status = 400 if errors else 200
    return render_template("signin/login.html", errors=errors, email=email, ended=ended), status


@signin.route("/login/code", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def second_factor() -> Any:
    """Ask for the TOTP code (or a recovery code) after the password."""
    user = _pending_user()
    if user is None:
        return redirect(url_for("signin.login"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        code = request.form.get("code", "").strip()
        problem = None if is_locked(db(), user) else _code_or_recovery(user, code)
        if is_locked(db(), user):
            errors["code"] = LOCKED
        elif problem is None:
            return _finish_sign_in(user, second_factor=True)
        else:
            locked = record_second_factor_failure(db(), user)
            db().commit()
            errors["code"] = LOCKED if locked else problem
    status = 400 if errors else 200
    return render_template("signin/code.html", errors=errors), status


def _code_or_recovery(user: Any, code: str) -> str | None:
    """Return why neither the TOTP code nor a recovery code confirms the user, or None."""
    problem = totp.code_problem(db(), user, instance().instance_key, code)
    if problem is None or (len(code) > 6 and totp.use_recovery_code(db(), user, code)):
        return None
    return WRONG_RECOVERY_CODE if problem == totp.MALFORMED and len(code) > 6 else problem


@signin.route("/login/enrol", methods=["GET", "POST"])
def enrol() -> Any:
    """Set up the authenticator app: a QR code, a code to prove it, then recovery codes."""
    user = _pending_user()
    if user is None:
        return redirect(url_for("signin.login"))
    if totp.is_enrolled(db(), user):
        return redirect(url_for("signin.second_factor"))
    key = instance().instance_key
    secret = totp.load_secret(user, key)
    if secret is None:
        secret = totp.new_secret()
        totp.store_secret(user, secret, key)
    errors: dict[str, str] = {}
    if request.method == "POST":
        codes = totp.confirm_enrolment(db(), user, key, secret, request.form.get("code", ""))
        if codes is not None:
            _audit(user, "auth.second_factor_enrolled")
            _finish_sign_in(user, second_factor=True)
            return render_template("signin/recovery_codes.html", codes=codes)
        errors["code"] = "Enter the 6-digit code your authenticator app shows"
    uri = totp.provisioning_uri(user, secret)
    return render_template(
        "signin/enrol.html", errors=errors, qr=totp.qr_svg(uri), secret=secret
    ), (400 if errors else 200)


@signin.route("/logout", methods=["POST"])
def logout() -> Any:
    """Sign out: end every session of this user, in this browser and any other."""
    user = current_user()
    if user is not None:
        end_user_sessions(db(), user.id, SIGNED_OUT)
        _audit(user, "auth.signed_out")
    session.clear()
    return redirect(url_for("signin.signed_out"))


@signin.route("/signed-out")
def signed_out() -> Any:
    """Say that the user has signed out."""
    session.pop("ended", None)
    return render_template("signin/signed_out.html")


@signin.route("/confirm", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def confirm() -> Any:
    """Confirm the second factor again before a sensitive action."""
    user = current_user()
    if user is None:
        return redirect(url_for("signin.login"))
    target = safe_next(request.args.get("next"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not totp.is_enrolled(db(), user):
            errors["code"] = "Set up a second factor first: sign out and sign in again"
        elif (
            problem := totp.code_problem(
                db(), user, instance().instance_key, request.form.get("code", "")
            )
        ) is None:
            row = web_session()
            assert row is not None
            confirm_second_factor(row)
            _audit(user, "auth.second_factor_confirmed")
            return redirect(target)
        else:
            locked = record_second_factor_failure(db(), user)
            db().commit()
            if locked:
                end_user_sessions(db(), user.id, LOCKED_OUT)
                _audit(user, "auth.signed_out")
                db().commit()
                session.clear()
                session["ended"] = LOCKED_OUT
                return redirect(url_for("signin.login"))
            errors["code"] = problem
    return render_template("signin/confirm.html", errors=errors, target=target), (
        400 if errors else 200
    )


@signin.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def invitation(token: str) -> Any:
    """Let an invited user choose their password."""
    if open_invitation(db(), token) is None:
        abort(404, "This invitation link has expired or has already been used.")
    errors: dict[str, str] = {}
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm_password", ""):
            errors["confirm_password"] = "Enter the same password twice"  # noqa: S105
        else:
            try:
                user = accept_invitation(db(), token, password)
            except ValidationError as exc:
                errors["password"] = exc.message
            else:
                _audit(user, "auth.invitation_accepted")
                return render_template("signin/invitation_done.html")
    return render_template("signin/invitation.html", errors=errors), (400 if errors else 200)
