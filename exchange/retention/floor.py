"""The statutory floor: no rule may keep a record for less than its record class requires.

Every record here is a child protection record: kept at least to the 25th birthday (IRMS
Toolkit for Schools; KCSIE; the schools' own policies). A record in a category the school
names as SEN is kept at least to the 31st birthday (IRMS: SEN files, date of birth + 31).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

CHILD_PROTECTION_YEARS = 25
SEN_YEARS = 31
SEN_CATEGORIES = ("SEN",)
CHILD_PROTECTION = "child protection"
SEN = "SEN"


@dataclass(frozen=True)
class Floors:
    """The least years after birth each record class is kept, and which categories are SEN."""

    child_protection_years: int = CHILD_PROTECTION_YEARS
    sen_years: int = SEN_YEARS
    sen_categories: tuple[str, ...] = field(default=SEN_CATEGORIES)

    def is_sen(self, path: str) -> bool:
        """Return whether a category path is (under) one the school names as SEN."""
        top = path.split("/", 1)[0].strip().casefold()
        return any(top == name.strip().casefold() for name in self.sen_categories)

    def years_for(self, paths: Iterable[str]) -> int:
        """Return the floor in years of a record in these categories."""
        sen = any(self.is_sen(path) for path in paths)
        return max(self.child_protection_years, self.sen_years if sen else 0)

    def record_class(self, paths: Iterable[str]) -> str:
        """Return the record class whose floor applies: SEN or child protection."""
        sen = any(self.is_sen(path) for path in paths)
        return SEN if sen and self.sen_years > self.child_protection_years else CHILD_PROTECTION

    def to_json(self) -> dict[str, object]:
        """Return the JSON form, as the DPO's page and the CLI show it."""
        return {
            "child_protection_years": self.child_protection_years,
            "sen_years": self.sen_years,
            "sen_categories": list(self.sen_categories),
        }


def floor_rule(years: int) -> str:
    """Return the rule that keeps a record to the birthday a floor names."""
    return f"dob+{years}y"


def below_floor(floors: Floors, where: str, paths: Iterable[str], years: int) -> str | None:
    """Return why a rule of years for these categories is below the floor, or None."""
    paths = list(paths)
    least = floors.years_for(paths)
    if years >= least:
        return None
    record_class = floors.record_class(paths)
    source = (
        "the IRMS Toolkit for Schools keeps SEN files to the 31st birthday"
        if record_class == SEN
        else "the IRMS Toolkit for Schools and KCSIE keep child protection records to the "
        "25th birthday"
    )
    return (
        f"Records in {where} must be kept until at least the pupil's {_ordinal(least)} "
        f"birthday ({record_class} records: {source}); a rule of {years} years is shorter, "
        "so it was not saved"
    )


def below_floor_setting(key: str, years: int, statutory: int) -> str | None:
    """Return why a school's floor of years is below the statutory one, or None."""
    if years >= statutory:
        return None
    if key == "floor_sen_years":
        what, source = "SEN records", "the IRMS Toolkit for Schools keeps SEN files"
    else:
        what = "child protection records"
        source = "the IRMS Toolkit for Schools and KCSIE keep child protection records"
    return (
        f"The floor for {what} cannot be below {statutory} years: {source} to the pupil's "
        f"{_ordinal(statutory)} birthday, so {years} years was not saved"
    )


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"
