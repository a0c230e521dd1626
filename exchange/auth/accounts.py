"""Accounts: the two-person rule for powerful roles, role changes, deactivation, reactivation."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.auth.invitations import revoke_invitations
from exchange.auth.models import AccountApproval
from exchange.auth.permissions import (
    APPROVAL_FOR_ROLE,
    ROLE_NAMES,
    ROLES_A_SCHOOL_NEEDS,
    Forbidden,
    require,
)
from exchange.auth.sessions import DEACTIVATED, ROLE_CHANGED, end_user_sessions
from exchange.db import utcnow
from exchange.errors import ValidationError
from exchange.records.models import ROLES, School, User
from exchange.records.schools import add_user, validate_email

APPROVED = "approved"
REFUSED = "refused"


def needs_approval(role: str) -> bool:
    """Return whether giving this role needs a second person's approval."""
    return role in APPROVAL_FOR_ROLE


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationError("Choose a role", where="role")


def _pending_for(session: Session, email: str) -> AccountApproval | None:
    return session.scalar(
        select(AccountApproval).where(
            AccountApproval.email == email, AccountApproval.outcome.is_(None)
        )
    )


def request_account(
    session: Session, school: School, by: User, role: str, name: str, email: str
) -> User | AccountApproval:
    """Add a user at once, or, for a powerful role, ask for a second person's approval."""
    _check_role(role)
    email = validate_email(email)
    if not name.strip():
        raise ValidationError("Enter the person's name", where="name")
    if session.scalar(select(User).where(User.school_id == school.id, User.email == email)):
        raise ValidationError("Someone at this school already has this email address")
    if _pending_for(session, email) is not None:
        raise ValidationError("An account for this email address is already waiting for approval")
    if not needs_approval(role):
        return add_user(session, school, role, name, email)
    approval = AccountApproval(
        school_id=school.id,
        role=role,
        name=name.strip()[:200],
        email=email,
        requested_by_user_id=by.id,
    )
    session.add(approval)
    session.flush()
    return approval


def request_role(session: Session, user: User, by: User, role: str) -> AccountApproval | None:
    """Change a user's role at once, or ask for approval when the new role is powerful."""
    _check_role(role)
    if role == user.role:
        raise ValidationError(f"{user.name} already has this role", where="role")
    if not user.is_active:
        raise ValidationError("Reactivate the account before changing its role")
    refuse_if_last(session, user, "change the role of")
    if not needs_approval(role):
        _give_role(session, user, role)
        return None
    if _pending_for(session, user.email) is not None:
        raise ValidationError("A change for this person is already waiting for approval")
    approval = AccountApproval(
        school_id=user.school_id,
        user_id=user.id,
        role=role,
        name=user.name,
        email=user.email,
        requested_by_user_id=by.id,
    )
    session.add(approval)
    session.flush()
    return approval


def request_reactivation(session: Session, user: User, by: User) -> AccountApproval | None:
    """Reactivate a user at once, or, in a powerful role, ask for a second person's approval."""
    if user.is_active:
        raise ValidationError(f"{user.name} is already active")
    if not needs_approval(user.role):
        reactivate(user)
        return None
    if _pending_for(session, user.email) is not None:
        raise ValidationError("A change for this person is already waiting for approval")
    approval = AccountApproval(
        school_id=user.school_id,
        user_id=user.id,
        role=user.role,
        name=user.name,
        email=user.email,
        requested_by_user_id=by.id,
    )
    session.add(approval)
    session.flush()
    return approval


def is_reactivation(approval: AccountApproval, user: User | None) -> bool:
    """Return whether an approval brings a deactivated account back in the role it had.

    A role change always names a different role, and a deactivated user's role cannot be
    changed, so a request for an inactive user's own role can only be a reactivation.
    """
    return user is not None and not user.is_active and approval.role == user.role


def _give_role(session: Session, user: User, role: str) -> None:
    user.role = role
    end_user_sessions(session, user.id, ROLE_CHANGED)


def decide(
    session: Session, approval: AccountApproval, approver: User, *, approve: bool
) -> User | None:
    """Approve (creating the account or giving the role) or refuse a waiting request."""
    require(approver.role, APPROVAL_FOR_ROLE[approval.role])
    if approval.outcome is not None:
        raise ValidationError("This request has already been decided")
    if approver.id in (approval.requested_by_user_id, approval.user_id):
        raise Forbidden("Someone other than the person who asked, or is named, must decide")
    approval.outcome = APPROVED if approve else REFUSED
    approval.decided_by_user_id, approval.decided_at = approver.id, utcnow()
    if not approve:
        return None
    if approval.user_id is None:
        school = session.get(School, approval.school_id)
        email = approval.email
        if session.scalar(select(User).where(User.school_id == school.id, User.email == email)):
            raise ValidationError("Someone at this school already has this email address")
        return add_user(session, school, approval.role, approval.name, email)
    user = session.get(User, approval.user_id)
    if is_reactivation(approval, user):
        assert user is not None
        reactivate(user)
        return user
    if user is None or not user.is_active:
        raise ValidationError("This account has been deactivated since the request was made")
    refuse_if_last(session, user, "change the role of")
    _give_role(session, user, approval.role)
    return user


def pending_approvals(session: Session, school_id: int) -> list[AccountApproval]:
    """Return the school's requests still waiting for a decision, oldest first."""
    query = select(AccountApproval).where(
        AccountApproval.school_id == school_id, AccountApproval.outcome.is_(None)
    )
    return list(session.scalars(query.order_by(AccountApproval.id)))


def refuse_if_last(session: Session, user: User, doing: str) -> None:
    """Refuse, in words, to leave the school without an active DSL or DPO."""
    if not user.is_active or user.role not in ROLES_A_SCHOOL_NEEDS:
        return
    active = session.scalar(
        select(func.count(User.id)).where(
            User.school_id == user.school_id, User.role == user.role, User.is_active.is_(True)
        )
    )
    if (active or 0) <= 1:
        role = ROLE_NAMES[user.role].removeprefix("the ")
        raise ValidationError(
            f"You cannot {doing} {user.name}: they are the school's only {role}. "
            f"Add another {role} first"
        )


def deactivate(session: Session, user: User, by: User) -> None:
    """Stop a user signing in: end their sessions and invitations (undone by reactivation)."""
    if user.id == by.id:
        raise ValidationError("You cannot deactivate your own account")
    if not user.is_active:
        raise ValidationError(f"{user.name} is already deactivated")
    refuse_if_last(session, user, "deactivate")
    user.is_active = False
    end_user_sessions(session, user.id, DEACTIVATED)
    revoke_invitations(session, user)


def reactivate(user: User) -> None:
    """Let a deactivated user sign in again (for a powerful role, only once approved)."""
    if user.is_active:
        raise ValidationError(f"{user.name} is already active")
    user.is_active = True
