"""The transfer classes: the kinds of record that must follow a child to the next school."""

from __future__ import annotations

from exchange.errors import ValidationError

TRANSFER_CLASSES: dict[str, str] = {
    "attendance": "Attendance",
    "serious_behaviour": "Serious behaviour",
    "bullying": "Bullying",
    "child_protection": "Child protection",
    "racism": "Racism",
    "child_on_child": "Child-on-child (peer-on-peer) abuse",
    "sen": "Special educational needs",
    "medical": "Medical",
    "other_transfer": "Other transfer",
}

# A subcategory's stored value that says "not transferred" even though its parent transfers.
NOT_TRANSFERRED = "none"
# A command-line word that clears a subcategory's own value so it follows its parent again.
INHERIT = "inherit"


def label_of(transfer_class: str) -> str:
    """Return the human label of a transfer class."""
    return TRANSFER_CLASSES[transfer_class]


def validate_transfer_class(value: str | None) -> str | None:
    """Return a known transfer class, or None for "not transferred"; raise on anything else."""
    if value is None or value == NOT_TRANSFERRED:
        return None
    if value not in TRANSFER_CLASSES:
        known = ", ".join(TRANSFER_CLASSES)
        raise ValidationError(f"unknown transfer class {value!r}; use one of {known} or none")
    return value
