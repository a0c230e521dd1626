"""English diminutives of forenames: the `nicknames` package plus forms common in British schools.

The package (a hand-curated list of English given names and their nicknames) misses some
spellings that British schools see daily; `EXTRA` adds them. Diminutives shorter than three
letters are left out: "Al", "Ed" and "Jo" match too many other words.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nicknames import NickNamer

MIN_LENGTH = 3

# Forename (lower case) -> diminutives the package lacks.
EXTRA: dict[str, tuple[str, ...]] = {
    "oliver": ("olly", "ollie"),
    "olivia": ("liv", "livvy", "olly"),
    "alfred": ("alfie",),
    "alfie": ("alf",),
    "archibald": ("archie",),
    "charlotte": ("lottie", "charlie"),
    "georgina": ("georgie", "gina"),
    "george": ("georgie",),
    "harrison": ("harry",),
    "harriet": ("hattie", "harry"),
    "isabella": ("izzy", "izzie", "bella"),
    "isabelle": ("izzy", "izzie", "belle"),
    "jessica": ("jess", "jessie"),
    "matilda": ("tilly", "tilda"),
    "theodore": ("theo", "teddy"),
    "thomas": ("tommy", "tom"),
    "william": ("will", "billy", "liam"),
    "alexander": ("alex", "xander"),
    "alexandra": ("alex", "lexi", "sasha"),
    "frederick": ("freddie", "freddy", "fred"),
    "florence": ("flo", "florrie"),
    "samuel": ("sam", "sammy"),
    "joshua": ("josh",),
    "nathaniel": ("nate", "nat"),
    "christopher": ("chris", "kit"),
    "rebecca": ("becky", "becca"),
    "katherine": ("katie", "kate", "kat"),
    "catherine": ("katie", "kate", "cat"),
    "eleanor": ("ellie", "nell", "nelly"),
    "elizabeth": ("lizzie", "beth", "libby", "eliza"),
    "gabriel": ("gabe",),
    "gabriella": ("gabby", "ella"),
    "maximilian": ("max",),
    "sebastian": ("seb", "bastian"),
    "zachary": ("zach", "zac"),
}


@lru_cache(maxsize=1)
def _namer() -> NickNamer:  # The package is imported only when first needed.
    from nicknames import NickNamer

    return NickNamer()


@lru_cache(maxsize=4096)
def diminutives(forename: str) -> tuple[str, ...]:
    """Return the diminutives of a forename, lower case, at least three letters long."""
    key = forename.strip().casefold()
    if not key:
        return ()
    found = {*_namer().nicknames_of(key), *EXTRA.get(key, ())}
    found.discard(key)
    return tuple(sorted(n for n in found if len(n) >= MIN_LENGTH and n.isalpha()))
