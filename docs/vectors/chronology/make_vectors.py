"""Regenerate or check the chronology.json vectors: version 1 and version 2.

    python docs/vectors/chronology/make_vectors.py            # check the committed vectors
    python docs/vectors/chronology/make_vectors.py --write    # regenerate them

The content is fictional (exchange.packaging.samples). `chronology-v1.json` uses no version 2
member and is written as version 1; `chronology-v2.json` is the same chronology sent as a
follow-up: it names the earlier transfer, gives each incident its shared transfer class, and
marks one incident as changed since it was last sent (docs/bundle-format.md section 6).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from exchange.packaging.samples import fictional_chronology
from exchange.packaging.serialize import chronology_json
from exchange.vector_script import run, stale

HERE = Path(__file__).resolve().parent
CLASSES = {
    "Child protection": "child_protection",
    "Attendance": "attendance",
    "Bullying": "bullying",
    "Child-on-child": "child_on_child",
    "Medical": "medical",
    "SEN": "sen",
}


def vector_files() -> dict[str, bytes]:
    """Return the vector files' names and exact bytes."""
    first = fictional_chronology(3, seed=11, transfer_id="tr-00000000-chronology-v1")
    follow_up = dataclasses.replace(
        fictional_chronology(3, seed=11, transfer_id="tr-00000000-chronology-v2"),
        follows="tr-00000000-chronology-v1",
    )
    follow_up = dataclasses.replace(
        follow_up,
        incidents=tuple(
            dataclasses.replace(
                incident,
                transfer_class=CLASSES[incident.category],
                change="edited" if number == 0 else None,
            )
            for number, incident in enumerate(follow_up.incidents)
        ),
    )
    return {
        "chronology-v1.json": chronology_json(first),
        "chronology-v2.json": chronology_json(follow_up),
    }


def check() -> list[str]:
    """Return the vector files that differ from what the code makes now."""
    return stale(HERE, vector_files())


def main() -> int:
    """Check the vectors, or write them with --write."""
    return run(__doc__, HERE, vector_files)


if __name__ == "__main__":
    sys.exit(main())
