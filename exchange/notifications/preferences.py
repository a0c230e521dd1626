"""Who chose one email a day (the digest) over an email for each event."""

from __future__ import annotations

from exchange.records.models import School

KEY = "digest_user_ids"


def digest_user_ids(school: School) -> frozenset[int]:
    """Return the users of the school who get the daily digest instead of single alerts."""
    return frozenset(int(i) for i in (school.settings or {}).get(KEY, []))


def set_digest(school: School, user_id: int, wanted: bool) -> None:
    """Choose the daily digest (True) or an email for each event (False) for one user."""
    chosen = digest_user_ids(school)
    chosen = chosen | {user_id} if wanted else chosen - {user_id}
    school.settings = {**(school.settings or {}), KEY: sorted(chosen)}
