"""Password hashing: argon2id (argon2-cffi), rehashed on login when the parameters change.

The ``default`` profile is argon2-cffi's (RFC 9106 low-memory: 3 passes over 64 MiB). The
``test`` profile (one pass over 8 KiB) exists only so test suites run quickly; it is chosen
with ``POISE_ARGON2_PROFILE=test`` and must never be used for real accounts.
"""

from __future__ import annotations

import os
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["check_password", "hash_password", "hasher", "needs_rehash"]

_PROFILES = ("default", "test")


@cache
def _hasher(profile: str) -> PasswordHasher:
    if profile == "test":
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher()


def hasher() -> PasswordHasher:
    """The argon2id hasher of the profile named by ``POISE_ARGON2_PROFILE`` (default
    ``default``)."""
    profile = os.environ.get("POISE_ARGON2_PROFILE", "default")
    return _hasher(profile if profile in _PROFILES else "default")


def hash_password(password: str) -> str:
    return hasher().hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong password or a bad hash."""
    try:
        return hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)
