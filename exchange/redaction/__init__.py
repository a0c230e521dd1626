"""Remove other children's names from text and PDFs, and check that they are gone."""

from exchange.redaction.names import MatchSet, Person, build_match_set
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.redaction.text import Hit, TextRedaction, redact_text

__all__ = [
    "Hit",
    "MatchSet",
    "Person",
    "PseudonymBook",
    "TextRedaction",
    "build_match_set",
    "redact_text",
]
