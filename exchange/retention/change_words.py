"""Say in words what a retention change changes: for the notice email and the pages."""

from __future__ import annotations

from collections.abc import Mapping

SETTING_NAMES = {
    "floor_child_protection_years": "the floor for child protection records",
    "floor_sen_years": "the floor for SEN records",
}


def describe_change(change: Mapping[str, object]) -> str:
    """Return what a change sets, e.g. 'the floor for SEN records to 31 years'."""
    kind = change.get("kind")
    if kind == "sender_copy":
        return f"what this school keeps after a verified receipt: {change.get('value')} days"
    if kind == "setting":
        key, value = str(change.get("key")), change.get("value")
        if key == "sen_categories":
            names = [str(name) for name in value] if isinstance(value, list) else []
            return "the categories counted as SEN to " + (", ".join(names) or "none")
        return f"{SETTING_NAMES.get(key, key)} to {value} years from birth"
    return f"the rule for {change.get('path')} to {change.get('rule')}"
