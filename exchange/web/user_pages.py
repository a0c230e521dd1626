"""Users: an admin adds, changes and deactivates; a DSL or DPO approves powerful accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import select

from exchange.auth import accounts
from exchange.auth.credentials import reset_second_factor
from exchange.auth.invitations import invite
from exchange.auth.mail import send_invitation, tell_watchers
from exchange.auth.models import AccountApproval
from exchange.auth.permissions import APPROVAL_FOR_ROLE, ROLE_NAMES, can, in_order, roles_for
from exchange.auth.sessions import SIGNED_OUT_EVERYWHERE, end_user_sessions
from exchange.errors import ExchangeError, ValidationError
from exchange.records.models import ROLES, User
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

user_pages = Blueprint("user_pages", __name__)


def _me() -> User:
    user = current_user()
    assert user is not None
    return user


def _config() -> dict[str, Any]:
    return instance().config


def _invite_by_email(user: User) -> str:
    """Commit, then email the invitee a fresh link (never shown on screen); say what happened."""
    hours = int(_config().get("INVITATION_HOURS", 24))
    token = invite(db(), user, _me(), hours=hours)
    audit_view("user.invited", "user", user.id)
    db().commit()
    if send_invitation(_config(), user, token, hours):
        return f"Their invitation link has been emailed to {user.email}."
    return (
        "Their invitation link could not be emailed. Ask your IT support to check the email "
        "settings, then use Email a new invitation link on their page."
    )


def _tell(subject: str, what: str) -> None:
    """Commit, then email the school's DSLs and DPOs about an account."""
    db().commit()
    tell_watchers(db(), _config(), _me().school_id, subject, what)


def _tell_if_powerful(person: User, what: str) -> None:
    """Tell the school's DSLs and DPOs when an admin changes a powerful account."""
    if person.role in APPROVAL_FOR_ROLE:
        _tell(
            f"A {_role(person.role)} account was changed",
            f"{_me().name} (administrator): {person.name} ({ROLE_NAMES[person.role]}) {what}.",
        )


def _role(role: str) -> str:
    return ROLE_NAMES.get(role, role).removeprefix("the ").removeprefix("a ").removeprefix("an ")


@user_pages.route("/admin/users", methods=["GET", "POST"])
@requires("manage_users")
def users() -> Any:
    """List users; add one (a powerful role waits for approval); the invitation goes by email."""
    errors: dict[str, str] = {}
    done = None
    if request.method == "POST":
        form = request.form
        try:
            made = accounts.request_account(
                db(), current_school(), _me(), form.get("role", ""), form.get("name", ""),
                form.get("email", ""),
            )  # fmt: skip
        except ExchangeError as exc:
            db().rollback()
            errors[exc.where or "email"] = exc.message
        else:
            done = _added(made)
    rows = db().scalars(select(User).order_by(User.name)).all()
    waiting = accounts.pending_approvals(db(), _me().school_id)
    return render_template(
        "admin/users.html", users=rows, waiting=waiting, errors=errors, done=done, roles=ROLES,
        form=request.form if errors else {}, role_name=_role,
    ), (400 if errors else 200)  # fmt: skip


def _added(made: User | AccountApproval) -> str:
    """Finish adding: invite a user, or announce a request; return what to tell the admin."""
    if isinstance(made, User):
        audit_view("user.added", "user", made.id, role=made.role)
        return f"{made.name} was added. {_invite_by_email(made)}"
    audit_view("account.requested", "account_approval", made.id, role=made.role)
    _tell(
        f"A new {_role(made.role)} account is waiting for approval",
        f"{_me().name} (administrator) asked for {made.name} <{made.email}> to become "
        f"{ROLE_NAMES[made.role]}. The account does nothing until a DSL approves it.",
    )
    return (
        f"{made.name} will become {ROLE_NAMES[made.role]} once "
        f"{_approver_words(made.role)} approves. Their invitation is emailed after that."
    )


def _approver_words(role: str) -> str:
    names = [ROLE_NAMES[r] for r in in_order(roles_for(APPROVAL_FOR_ROLE[role]))]
    return " or ".join(names)


@user_pages.route("/admin/users/<int:user_id>")
@requires("manage_users")
def user(user_id: int) -> Any:
    """Show one user and what can be done to their account."""
    return _user_page(own(User, user_id), {}, None)


def _user_page(person: User, errors: dict[str, str], done: str | None) -> Any:
    return render_template(
        "admin/user.html", person=person, errors=errors, done=done, roles=ROLES, role_name=_role,
        has_password=person.password_hash is not None,
    ), (400 if errors else 200)  # fmt: skip


def _act(user_id: int, step: Callable[[User], str], field: str = "action") -> Any:
    """Run an admin's step on a user; show the refusal beside the form, or what was done."""
    person = own(User, user_id)
    try:
        done = step(person)
    except ExchangeError as exc:
        db().rollback()
        return _user_page(own(User, user_id), {field: exc.message}, None)
    return _user_page(person, {}, done)


@user_pages.route("/admin/users/<int:user_id>/role", methods=["POST"])
@requires("manage_users")
@requires_fresh_second_factor
def change_role(user_id: int) -> Any:
    """Change a user's role (a powerful role waits for approval)."""

    def step(person: User) -> str:
        role = request.form.get("role", "")
        approval = accounts.request_role(db(), person, _me(), role)
        if approval is None:
            audit_view("user.role_changed", "user", person.id, role=role)
            return f"{person.name} is now {ROLE_NAMES[role]}."
        audit_view("account.requested", "account_approval", approval.id, role=role)
        _tell(
            f"A change to {_role(role)} is waiting for approval",
            f"{_me().name} (administrator) asked for {person.name} <{person.email}> to become "
            f"{ROLE_NAMES[role]}. Nothing changes until {_approver_words(role)} approves.",
        )
        return (
            f"{person.name} will become {ROLE_NAMES[role]} once {_approver_words(role)} approves."
        )

    return _act(user_id, step, "role")


@user_pages.route("/admin/users/<int:user_id>/sign-out", methods=["POST"])
@requires("manage_users")
def sign_out_everywhere(user_id: int) -> Any:
    """End every session of a user, on every device."""

    def step(person: User) -> str:
        count = end_user_sessions(db(), person.id, SIGNED_OUT_EVERYWHERE)
        audit_view("user.signed_out_everywhere", "user", person.id, sessions=count)
        return f"{person.name} has been signed out everywhere."

    return _act(user_id, step)


@user_pages.route("/admin/users/<int:user_id>/reset-second-factor", methods=["POST"])
@requires("manage_users")
@requires_fresh_second_factor
def reset_factor(user_id: int) -> Any:
    """Forget a user's authenticator app (lost phone); they set it up again at next sign-in."""

    def step(person: User) -> str:
        reset_second_factor(db(), person)
        audit_view("user.second_factor_reset", "user", person.id)
        _tell_if_powerful(person, "had the second factor reset (set up again at next sign-in)")
        return f"{person.name} will set up their authenticator app again when they next sign in."

    return _act(user_id, step)


@user_pages.route("/admin/users/<int:user_id>/invite", methods=["POST"])
@requires("manage_users")
def reinvite(user_id: int) -> Any:
    """Email a new invitation link to a user who has not chosen a password (older links die)."""

    def step(person: User) -> str:
        if person.password_hash is not None or not person.is_active:
            raise ValidationError(f"{person.name} does not need an invitation")
        return _invite_by_email(person)

    return _act(user_id, step)


@user_pages.route("/admin/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@requires("manage_users")
@requires_fresh_second_factor
def deactivate(user_id: int) -> Any:
    """Ask to confirm, then stop a user signing in (undone by reactivation)."""
    person = own(User, user_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            errors["confirm"] = f"Tick the box to confirm you want to deactivate {person.name}"
        else:

            def step(target: User) -> str:
                accounts.deactivate(db(), target, _me())
                audit_view("user.deactivated", "user", target.id)
                _tell_if_powerful(target, "deactivated")
                return f"{target.name} has been deactivated and signed out everywhere."

            return _act(user_id, step)
    return render_template("admin/deactivate.html", person=person, errors=errors), (
        400 if errors else 200
    )


@user_pages.route("/admin/users/<int:user_id>/reactivate", methods=["POST"])
@requires("manage_users")
def reactivate(user_id: int) -> Any:
    """Let a deactivated user sign in again (a powerful role waits for approval)."""

    def step(person: User) -> str:
        approval = accounts.request_reactivation(db(), person, _me())
        if approval is None:
            audit_view("user.reactivated", "user", person.id)
            return f"{person.name} can sign in again with their own password and second factor."
        audit_view(
            "account.requested", "account_approval", approval.id, role=approval.role,
            reactivation=True,
        )  # fmt: skip
        _tell(
            f"A {_role(person.role)} account is waiting to be reactivated",
            f"{_me().name} (administrator) asked for {person.name} ({ROLE_NAMES[person.role]}) "
            "to be reactivated. The account stays deactivated until a second person approves.",
        )
        return f"{person.name} will be reactivated once {_approver_words(person.role)} approves."

    return _act(user_id, step)


@user_pages.route("/approvals")
@requires("approve_accounts")
@requires_fresh_second_factor
def approvals() -> Any:
    """List the accounts and roles waiting for a second person."""
    return _approvals_page({}, None)


def _approvals_page(errors: dict[str, str], done: str | None) -> Any:
    rows = [
        {
            "approval": row,
            "may_decide": can(_me().role, APPROVAL_FOR_ROLE[row.role]),
            "reactivation": accounts.is_reactivation(
                row, db().get(User, row.user_id) if row.user_id else None
            ),
        }
        for row in accounts.pending_approvals(db(), _me().school_id)
    ]
    names = {u.id: u.name for u in db().scalars(select(User))}
    return render_template(
        "admin/approvals.html", rows=rows, names=names, errors=errors, done=done, role_name=_role
    ), (400 if errors else 200)


@user_pages.route("/approvals/<int:approval_id>", methods=["POST"])
@requires("approve_accounts")
@requires_fresh_second_factor
def decide(approval_id: int) -> Any:
    """Approve or refuse one waiting request; approval sends the invitation."""
    approval = own(AccountApproval, approval_id)
    answer = request.form.get("decision", "")
    if answer not in ("approve", "refuse"):
        return _approvals_page({f"decision-{approval_id}": "Choose approve or refuse"}, None)
    named = db().get(User, approval.user_id) if approval.user_id else None
    reactivating = accounts.is_reactivation(approval, named)
    try:
        person = accounts.decide(db(), approval, _me(), approve=answer == "approve")
    except ExchangeError as exc:
        db().rollback()
        return _approvals_page({f"decision-{approval_id}": exc.message}, None)
    audit_view(
        f"account.{answer}d", "account_approval", approval.id, role=approval.role,
        reactivation=reactivating,
    )  # fmt: skip
    return _approvals_page({}, _announce(approval, person, reactivating=reactivating))


def _announce(approval: AccountApproval, person: User | None, *, reactivating: bool) -> str:
    """Tell the school's DSLs and DPOs of the decision; invite a new user; return the words."""
    who = f"{approval.name} <{approval.email}> as {ROLE_NAMES[approval.role]}"
    if reactivating:
        verb = "approved" if person is not None else "refused"
        _tell(f"A reactivation was {verb}", f"{_me().name} {verb} reactivating {who}.")
        if person is None:
            return f"You refused to reactivate {approval.name}; the account stays deactivated."
        return f"You approved {approval.name}. They can sign in again."
    if person is None:
        _tell("A request for an account was refused", f"{_me().name} refused {who}.")
        return f"You refused {approval.name}."
    _tell("A new account was approved", f"{_me().name} approved {who}.")
    if approval.user_id is None:
        return f"You approved {approval.name}. {_invite_by_email(person)}"
    return f"You approved {approval.name}. They are signed out and sign in again in the new role."
