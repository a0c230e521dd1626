"""Need to know, in one place: which role may do what, and the school settings that change it.

The web (pages and navigation), the CLI, the JSON API, the school-to-school API, the transfer
workflow and the retention and partner services all ask this module; none keeps its own list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exchange.errors import ExchangeError

DSL = "dsl"
DEPUTY = "deputy_dsl"
DPO = "dpo"
ADMIN = "admin"
SYSTEM = "system"  # The worker, or a partner's signed message: never a signed-in person.
ROLES = (DSL, DEPUTY, DPO, ADMIN)

DSLS = frozenset({DSL, DEPUTY})
DSLS_AND_DPO = DSLS | {DPO}

ROLE_NAMES = {
    DSL: "the DSL",
    DEPUTY: "a deputy DSL",
    DPO: "the DPO",
    ADMIN: "an administrator",
    SYSTEM: "the service itself",
}

# permission -> (roles that hold it, what it allows in words a DSL reads in a refusal).
TABLE: dict[str, tuple[frozenset[str], str]] = {
    # Pages and records.
    "view_children": (DSLS, "see children and their records"),
    "view_narrative": (DSLS, "read narratives, documents and chronologies"),
    "view_transfers": (DSLS_AND_DPO, "see transfers"),
    "view_receipts": (DSLS_AND_DPO, "see receipts and evidence packs"),
    "view_retention": (DSLS_AND_DPO, "see the retention forecast, holds and certificates"),
    "view_audit": (frozenset({DPO}), "verify the audit log"),
    "explore_audit": (frozenset({DPO}), "see who viewed, exported or changed a child's record"),
    "view_register": (frozenset({DPO}), "export the register of transfers and disposals"),
    "look_up_disposals": (frozenset({DPO}), "look up a child's transfers and disposal by UPN"),
    "view_partners": (DSLS | {ADMIN}, "see the partner directory"),
    # The transfer, as the departing school.
    "manage_transfers": (DSLS, "work on transfers"),
    "transfer.create": (DSLS, "start a transfer"),
    "transfer.select": (DSLS, "choose what a transfer carries"),
    "transfer.review": (DSLS, "run and review redactions"),
    "transfer.offer": (DSLS, "send an offer"),
    "transfer.converse": (DSLS, "record the DSL conversation"),
    "transfer.authorise": (DSLS, "authorise a transfer"),
    "transfer.withdraw": (DSLS, "withdraw a transfer"),
    "transfer.export": (DSLS, "export the offline package"),
    "transfer.confirm_receipt": (DSLS, "record a receipt code"),
    "transfer.recall": (DSLS, "recall a delivered file"),
    # The transfer, as the receiving school.
    "answer_offers": (DSLS, "accept or reject an offer"),
    "transfer.destroy_recalled": (DSLS, "destroy a file its sender recalled"),
    # The transfer, moved by the service on a signed message or a task.
    "transfer.system": (frozenset({SYSTEM}), "take the service's own steps"),
    # Retention.
    "place_holds": (DSLS_AND_DPO, "place a legal hold"),
    "release_holds": (frozenset({DPO}), "release a legal hold"),
    "set_retention_rules": (frozenset({DSL, DPO}), "lengthen the retention rules"),
    # Shortening makes records due earlier: the DPO alone, with a fresh second factor.
    "shorten_retention": (frozenset({DPO}), "shorten retention or cancel a waiting change"),
    "approve_disposal": (frozenset({DPO}), "approve the destruction of due records"),
    "set_disposal_mode": (frozenset({DPO}), "change the school's retention settings"),
    "run_purge": (frozenset({DSL, DPO}), "start the purge by hand"),
    "hear_retention_changes": (DSLS_AND_DPO, "be told of retention changes by email"),
    # Administration.
    "manage_users": (frozenset({ADMIN}), "manage users"),
    "manage_keys": (frozenset({ADMIN}), "manage the school's keys"),
    "manage_partners": (frozenset({ADMIN}), "enrol partner schools"),
    "confirm_partners": (DSLS, "confirm a partner's keys"),
    "manage_policy": (frozenset({ADMIN}), "change the transfer policy"),
    "manage_api_tokens": (frozenset({ADMIN}), "manage API tokens"),
    # Accounts with powerful roles need a second person (the two-person rule).
    "approve_accounts": (frozenset({DSL, DPO}), "approve new DSL, deputy DSL and DPO accounts"),
    "approve_dsl_accounts": (frozenset({DSL}), "approve a DSL or deputy DSL account"),
    "approve_dpo_accounts": (frozenset({DSL, DPO}), "approve a DPO account"),
    "hear_account_changes": (DSLS_AND_DPO, "be told of new DSL, deputy and DPO accounts by email"),
    # Subject access requests (exchange.subject_access).
    "sar.view": (DSLS_AND_DPO, "see subject access requests and their clocks"),
    "sar.log": (DSLS_AND_DPO, "log a subject access request"),
    "sar.prepare": (DSLS, "choose, redact and withhold what a subject access response discloses"),
    "sar.approve": (DSLS_AND_DPO, "approve a subject access response"),
    "sar.read_response": (DSLS_AND_DPO, "read a subject access response before it is sent"),
    "sar.send": (DSLS_AND_DPO, "send a subject access response and record its receipt"),
    "sar.decide": (DSLS_AND_DPO, "extend or refuse a subject access request"),
    "sar.export": (frozenset({DPO}), "export the handling record of a subject access request"),
    "sar.purge": (frozenset({DPO}), "destroy subject access requests past their retention"),
}

# permission -> (school setting, the role it admits only when that setting is true).
SETTING_GATES: dict[str, tuple[str, str]] = {
    "transfer.authorise": ("deputy_may_authorise", DEPUTY),
}

# Roles that must sign in with a second factor: every role, admins included.
SECOND_FACTOR_ROLES = frozenset(ROLES)

# Powerful roles: creating such an account, or giving someone the role, needs a second person
# who holds this permission (and has just confirmed their second factor).
APPROVAL_FOR_ROLE: dict[str, str] = {
    DSL: "approve_dsl_accounts",
    DEPUTY: "approve_dsl_accounts",
    DPO: "approve_dpo_accounts",
}

# Roles a school must never be left without: its last active one cannot be deactivated.
ROLES_A_SCHOOL_NEEDS = (DSL, DPO)

# API token scopes and the permission each one stands for.
API_SCOPES: dict[str, str] = {
    "transfers:read": "view_transfers",
    "receipts:read": "view_receipts",
    "transfers:withdraw": "transfer.withdraw",  # Stop an undelivered transfer, with a reason.
}


class Forbidden(ExchangeError):
    """A role, or a school's settings, do not allow this person to do this."""

    code = "forbidden"
    status_code = 403


def in_order(roles: frozenset[str]) -> list[str]:
    """Return roles in the table's order: DSL, deputy, DPO, admin, the service itself."""
    return [role for role in (*ROLES, SYSTEM) if role in roles]


def roles_for(permission: str, settings: Mapping[str, Any] | None = None) -> frozenset[str]:
    """Return the roles that hold a permission at a school with these settings."""
    roles, _ = TABLE.get(permission, (frozenset(), ""))
    gate = SETTING_GATES.get(permission)
    if gate is not None and settings is not None and not settings.get(gate[0]):
        roles = roles - {gate[1]}
    return roles


def can(role: str | None, permission: str, settings: Mapping[str, Any] | None = None) -> bool:
    """Return whether a role holds a permission; an unknown permission is never held."""
    return role is not None and role in roles_for(permission, settings)


def refusal(
    role: str | None, permission: str, settings: Mapping[str, Any] | None = None
) -> str | None:
    """Return why this role may not use a permission here, in words; None when it may."""
    if can(role, permission, settings):
        return None
    roles, doing = TABLE.get(permission, (frozenset(), "do this"))
    gate = SETTING_GATES.get(permission)
    if gate is not None and role == gate[1] and role in roles:
        allowed = " or ".join(ROLE_NAMES[r] for r in in_order(roles_for(permission, settings)))
        return (
            f"Only {allowed} can {doing} at this school; deputies are not allowed to "
            f"(the school setting {gate[0]} is off)"
        )
    who = ROLE_NAMES.get(role or "", "someone who is not signed in")
    allowed = " or ".join(ROLE_NAMES[r] for r in in_order(roles)) or "nobody"
    return f"Only {allowed} can {doing}; {who} cannot"


def require(role: str | None, permission: str, settings: Mapping[str, Any] | None = None) -> None:
    """Raise Forbidden, with the reason in words, unless the role holds the permission."""
    reason = refusal(role, permission, settings)
    if reason is not None:
        raise Forbidden(reason)


def needs_second_factor(role: str) -> bool:
    """Return whether this role must use a second factor to sign in."""
    return role in SECOND_FACTOR_ROLES
