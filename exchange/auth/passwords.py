"""Hash and check passwords with argon2id."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from exchange.errors import ValidationError

MIN_LENGTH = 12
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Return a hash checked when no user matches, so timing does not tell (made once, late:
    one argon2 hash costs about 0.3 s, which every CLI command paid at import)."""
    return _hasher.hash("not-a-real-password-0000")


def check_strength(password: str) -> str:
    """Return the password if it is long enough, or raise ValidationError."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"Enter a password of at least {MIN_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password."""
    return _hasher.hash(check_strength(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Return whether the password matches the stored hash (False when there is none)."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
