"""One process of the vault pool: read jobs as JSON lines on stdin, answer each on stdout.

The pool starts these with `python -m exchange.transfers.vault_worker` rather than through
multiprocessing, because a Celery prefork worker is a daemonic process and may not have
multiprocessing children. The first line carries the people and the subject; each further
line one job and the book to start from. Paths point into the task's private work folder.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any

from exchange.redaction.names import Person


def person_to_json(person: Person) -> dict[str, Any]:
    """Return a person as JSON-ready data."""
    return dataclasses.asdict(person)


def person_from_json(data: dict[str, Any]) -> Person:
    """Return the person that `person_to_json` wrote."""
    return Person(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def main() -> None:
    """Answer jobs until stdin closes; whatever a tool prints goes to stderr, not the answers."""
    from exchange.transfers.vault_pool import VaultJob, redact_one

    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    setup = json.loads(sys.stdin.readline())
    people = [person_from_json(p) for p in setup["people"]]
    subject_id = setup["subject_id"]
    for line in sys.stdin:
        request = json.loads(line)
        outcome = redact_one(VaultJob(**request["job"]), people, subject_id, request["book"])
        answers.write(json.dumps(dataclasses.asdict(outcome)) + "\n")
        answers.flush()
    answers.close()


if __name__ == "__main__":
    main()
