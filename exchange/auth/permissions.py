"""Need to know, in one place: which role may do what."""

from __future__ import annotations

DSL = frozenset({"dsl", "deputy_dsl"})
DSL_AND_DPO = DSL | {"dpo"}

# Every page and API operation names one of these permissions; nothing else grants access.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view_children": DSL,  # Pupils, leavers and their records.
    "view_narrative": DSL,  # Incident narratives, action texts, documents, chronologies.
    "manage_transfers": DSL,  # Draft, select, review, offer, record, authorise, withdraw.
    "answer_offers": DSL,  # Accept or reject an incoming offer.
    "view_transfers": DSL_AND_DPO,  # Transfer metadata: ids, states, dates, counts.
    "view_receipts": DSL_AND_DPO,  # Receipts, their verification and the evidence pack.
    "view_retention": DSL_AND_DPO,  # The retention forecast, holds and certificates.
    "manage_holds": frozenset({"dpo"}),  # Place and release legal holds.
    "view_audit": frozenset({"dpo"}),  # Audit log verification status.
    "manage_users": frozenset({"admin"}),
    "manage_keys": frozenset({"admin"}),
    "manage_partners": frozenset({"admin"}),  # Enrol partners; a DSL confirms their keys.
    "confirm_partners": DSL,  # The confirming call is between DSLs.
    "view_partners": frozenset({"admin"}) | DSL,
    "manage_policy": frozenset({"admin"}),
    "manage_api_tokens": frozenset({"admin"}),
}

# Roles that must sign in with a second factor.
SECOND_FACTOR_ROLES = DSL_AND_DPO

# API token scopes and the permission each one stands for.
API_SCOPES: dict[str, str] = {
    "transfers:read": "view_transfers",
    "receipts:read": "view_receipts",
    "transfers:withdraw": "manage_transfers",  # Stop an undelivered transfer, with a reason.
}


def can(role: str | None, permission: str) -> bool:
    """Return whether a role holds a permission; an unknown permission is never held."""
    return role is not None and role in PERMISSIONS.get(permission, frozenset())


def needs_second_factor(role: str) -> bool:
    """Return whether this role must use a second factor to sign in."""
    return role in SECOND_FACTOR_ROLES
