"""Write docs/workflow.md from the workflow's own declarations, so the page cannot drift.

Run `python -m exchange.transfers.workflow_doc > docs/workflow.md`; a test fails when the
page and the code disagree.
"""

from __future__ import annotations

from exchange.auth.permissions import ROLE_NAMES, SETTING_GATES, TABLE, in_order
from exchange.transfers.workflow import ACTIONS
from exchange.transfers.workflow_types import OFFLINE, ONLINE, Action

INTRO = """# The transfer workflow

Generated from `exchange/transfers/workflow.py` by
`python -m exchange.transfers.workflow_doc > docs/workflow.md`; a test fails when this page
and the code disagree. Every change of a transfer's state is one of these actions, taken
through `workflow.apply` by the web pages, the CLI, the JSON API, the school-to-school API
and the Celery tasks alike.

Taking an action checks, in this order: the side (sending or receiving school), that the
person belongs to the transfer's school, the permission table (`exchange/auth/permissions.py`,
with the school settings that change it), the state the transfer is in (per route: online to
a school on this service, or offline), and the action's preconditions. A refusal says why,
changes nothing, and for the actions marked "audited" is written to the audit log as
`transfer.<action>_refused`. The state change itself is one row in the transfer's history
and one audit event `transfer.<new state>`. Effects are written to the outbox in the same
transaction and queued as Celery tasks after the commit; a crash in between loses nothing
(the beat's sweep sends what is left) and a task whose row already ran does nothing.

"""


def _states(action: Action) -> str:
    online = sorted(s or "(new)" for s in action.sources.get(ONLINE, ()))
    offline = sorted(s or "(new)" for s in action.sources.get(OFFLINE, ()))
    if online == offline:
        return ", ".join(online)
    parts = []
    if online:
        parts.append("online: " + ", ".join(online))
    if offline:
        parts.append("offline: " + ", ".join(offline))
    return "; ".join(parts)


def _targets(action: Action) -> str:
    return ", ".join("(unchanged)" if t is None else t for t in action.targets)


def _who(action: Action) -> str:
    roles, _ = TABLE[action.permission]
    names = " or ".join(ROLE_NAMES[role] for role in in_order(roles))
    gate = SETTING_GATES.get(action.permission)
    if gate is not None:
        names += f" (a deputy only when `{gate[0]}` is on)"
    return f"{names} [`{action.permission}`]"


def _side(action: Action) -> str:
    return " / ".join(
        sorted({"outgoing": "sending", "incoming": "receiving"}[s] for s in action.sides)
    )


def render() -> str:
    """Return the page: one row per action."""
    lines = [
        INTRO,
        "| action | side | from | to | who | preconditions | effects | refusals |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for action in ACTIONS.values():
        pre = "; ".join(p.describe for p in action.preconditions) or "-"
        effects = [f"{e.describe} (`{e.task}`)" for e in action.effects]
        if action.then:
            effects.append(f"then `{action.then}`")
        lines.append(
            f"| `{action.name}`: {action.summary} | {_side(action)} | {_states(action)} | "
            f"{_targets(action)} | {_who(action)} | {pre} | {'; '.join(effects) or '-'} | "
            f"{'audited' if action.audit_refusals else '-'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
