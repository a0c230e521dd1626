"""Print a school's category tree as a table: what each category transfers as, and why."""

from __future__ import annotations

from exchange.policy.service import is_explicit, transfer_class_of
from exchange.records.models import Category, School

INDENT = "  "
NOT_TRANSFERRED_MARK = "-"


def render_tree(school: School, categories: list[Category]) -> list[str]:
    """Return the lines of a school's tree, indented, with each category's class and its source."""
    if not categories:
        return [
            f"{school.name} (URN {school.urn}) has no categories yet: "
            "run `exchange policy apply PRESET`"
        ]
    rows = [_row(category) for category in categories]
    width = max(len(name) for name, _, _ in rows)
    class_width = max(len("Transfers as"), *(len(value) for _, value, _ in rows))
    lines = [
        f"{school.name} (URN {school.urn}): category tree and transfer mapping",
        "",
        f"{'Category':<{width}}  {'Transfers as':<{class_width}}  Mapping",
    ]
    lines += [f"{name:<{width}}  {value:<{class_width}}  {source}" for name, value, source in rows]
    lines += ["", _summary(categories)]
    return lines


def _row(category: Category) -> tuple[str, str, str]:
    indent = INDENT if category.parent_id is not None else ""
    resolved = transfer_class_of(category)
    value = resolved or NOT_TRANSFERRED_MARK
    if category.parent_id is None:
        source = "set"
    elif is_explicit(category):
        source = "set here"
    else:
        source = f"inherited from {category.parent.name}" if category.parent else "inherited"
    return indent + category.name, value, source


def _summary(categories: list[Category]) -> str:
    tops = sum(1 for category in categories if category.parent_id is None)
    transferring = sum(1 for category in categories if transfer_class_of(category))
    return (
        f"{tops} categories, {len(categories) - tops} subcategories; "
        f"{transferring} of {len(categories)} transfer ('-' stays at this school)"
    )
