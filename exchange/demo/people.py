"""The demo's invented schools, staff and users, with names from a seeded Faker."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from faker import Faker

SEED = 20240901
SOURCE_SYSTEM = "exchange-demo"


@dataclass(frozen=True)
class DemoSchool:
    """An invented school: valid-looking identifiers, a preset tree and an email domain."""

    urn: str
    laestab: str
    name: str
    preset: str
    domain: str


@dataclass(frozen=True)
class Person:
    """A generated adult: staff member, user or both."""

    key: str
    forename: str
    surname: str
    job_title: str
    role: str | None  # The sign-in role if this person is a user of the service.
    email: str

    @property
    def name(self) -> str:
        """Return the full name."""
        return f"{self.forename} {self.surname}"


SENDING = DemoSchool(
    "999101",
    "9992101",
    "Larkspur Lane Primary School (demo)",
    "bretherton",
    "larkspur-lane.example.org",
)
RECEIVING = DemoSchool(
    "999102",
    "9992102",
    "Hollins Brook CE Primary School (demo)",
    "holy_trinity",
    "hollins-brook.example.org",
)
SCHOOLS = (SENDING, RECEIVING)

# Staff of the sending school who write records; the first two also sign in.
SENDING_STAFF = (
    ("dsl", "Headteacher and Designated Safeguarding Lead", "dsl"),
    ("ddsl", "Deputy Designated Safeguarding Lead", "deputy_dsl"),
    ("senco", "SENCO", None),
    ("attendance", "Attendance officer", None),
    ("mentor", "Learning mentor", None),
    ("office", "School business manager", None),
    ("teacher-y2", "Year 2 class teacher", None),
    ("teacher-y4", "Year 4 class teacher", None),
    ("teacher-y6", "Year 6 class teacher", None),
    ("ta", "Teaching assistant", None),
)
OTHER_USERS = (
    ("dpo", "Data Protection Officer", "dpo"),
    ("admin", "System administrator", "admin"),
)
RECEIVING_USERS = (
    ("dsl", "Designated Safeguarding Lead", "dsl"),
    ("ddsl", "Deputy Designated Safeguarding Lead", "deputy_dsl"),
    *OTHER_USERS,
)


def email_for(forename: str, surname: str, domain: str) -> str:
    """Return a plain ASCII address first.last@domain for a generated name."""
    local = f"{forename}.{surname}".lower()
    local = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z.]", "", local) + "@" + domain


def make_people(
    fake: Faker, school: DemoSchool, specs: tuple[tuple[str, str, str | None], ...]
) -> list[Person]:
    """Generate a person for each (key, job title, role) with distinct surnames."""
    people: list[Person] = []
    used: set[str] = set()
    for key, job_title, role in specs:
        forename, surname = fake.first_name(), fake.last_name()
        while surname in used:
            surname = fake.last_name()
        used.add(surname)
        email = email_for(forename, surname, school.domain)
        people.append(Person(key, forename, surname, job_title, role, email))
    return people
