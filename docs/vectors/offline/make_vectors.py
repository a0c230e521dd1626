"""Regenerate or check the offline version 2 vectors: chronology.json and chronology.csv.

    python docs/vectors/offline/make_vectors.py            # check the committed vectors
    python docs/vectors/offline/make_vectors.py --write    # regenerate them

The content is fictional (exchange.packaging.samples). A receiver writing an importer can test
it on these files; the zip around them is described in docs/offline-export.md.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from exchange.packaging import offline
from exchange.packaging.build import document_entries
from exchange.packaging.offline_csv import chronology_csv
from exchange.packaging.offline_documents import titled_documents
from exchange.packaging.offline_json import offline_chronology_json
from exchange.packaging.samples import fictional_chronology, fictional_vault
from exchange.vector_script import run, stale

HERE = Path(__file__).resolve().parent
DETAILS = offline.ReceiverDetails(
    author_roles={"INC-0001": "Class teacher", "INC-0002": "Head of year"},
    shared_categories={"INC-0001": "bullying", "INC-0003": "child_protection"},
    document_categories={"vault/0001.pdf": "Child protection/Neglect"},
)
TITLES = ("Referral to children's social care.docx", "Core group minutes – [Child-A].pdf")


def vector_files() -> dict[str, bytes]:
    """Return the vector files' names and exact bytes."""
    chronology = fictional_chronology(4, seed=7, transfer_id="tr-00000000-vectors")
    chronology = dataclasses.replace(
        chronology,
        incidents=(
            dataclasses.replace(chronology.incidents[0], narrative="=1+1 is not a formula here"),
            *chronology.incidents[1:],
        ),
    )
    vault = [
        dataclasses.replace(vault_file, title=title)
        for vault_file, title in zip(fictional_vault(2, 2_000), TITLES, strict=True)
    ]
    documents = titled_documents(document_entries(vault), DETAILS.document_categories)
    return {
        "chronology.json": offline_chronology_json(
            chronology, documents, DETAILS, offline.DOCUMENTS_NAME
        ),
        "chronology.csv": chronology_csv(
            chronology, DETAILS.author_roles, DETAILS.shared_categories
        ),
    }


def check() -> list[str]:
    """Return the vector files that differ from what the code makes now."""
    return stale(HERE, vector_files())


def main() -> int:
    """Check the vectors, or write them with --write."""
    return run(__doc__, HERE, vector_files)


if __name__ == "__main__":
    sys.exit(main())
