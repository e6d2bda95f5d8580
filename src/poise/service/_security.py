"""Tokens and the login throttle.

- Access tokens: JWT (HS256) with ``iss``, ``aud``, ``exp``, ``iat``, ``sub`` (user id) and
  ``sid`` (the login session, so logging out ends them); signed with a key derived from the
  secret key ring (every key of the ring verifies, so rotation does not log anyone out).
- Refresh tokens and API tokens: 256 random bits, stored as their SHA-256 digest, shown once.
- Login throttle: failures per account and attempts per client address in a moving window.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

__all__ = [
    "API_TOKEN_PREFIX",
    "LoginThrottle",
    "TokenSigner",
    "digest_token",
    "new_token",
]

API_TOKEN_PREFIX = "poise_"


def new_token(prefix: str = "") -> str:
    """A new random token (256 bits, URL-safe)."""
    return prefix + secrets.token_urlsafe(32)


def digest_token(token: str) -> str:
    """SHA-256 of a token, as stored (tokens carry 256 random bits: no salt or stretching is
    needed to keep them from being guessed back)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_id: str


class TokenSigner:
    """Makes and checks access tokens.

    Parameters
    ----------
    keys : sequence of bytes
        Key material, newest first (the secret key ring); the newest signs, any verifies.
    issuer, audience : str
        Required ``iss`` and ``aud`` claims.
    lifetime_seconds : int
        ``exp`` - ``iat``.
    """

    def __init__(
        self, keys: list[bytes], *, issuer: str, audience: str, lifetime_seconds: int
    ) -> None:
        self._keys = [hmac.new(k, b"poise access token v1", hashlib.sha256).digest() for k in keys]
        self.issuer = issuer
        self.audience = audience
        self.lifetime_seconds = lifetime_seconds

    def issue(self, user_id: int, session_id: str) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "sid": session_id,
            "iat": now,
            "exp": now + timedelta(seconds=self.lifetime_seconds),
        }
        return jwt.encode(claims, self._keys[0], algorithm="HS256")

    def verify(self, token: str) -> AccessClaims | None:
        """The claims of a valid, unexpired token of this issuer and audience; else None."""
        for key in self._keys:
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=["HS256"],
                    audience=self.audience,
                    issuer=self.issuer,
                    options={"require": ["exp", "iat", "iss", "aud", "sub", "sid"]},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError:
                return None
            try:
                return AccessClaims(int(claims["sub"]), str(claims["sid"]))
            except (TypeError, ValueError):
                return None
        return None


class LoginThrottle:
    """Counts login attempts in a moving window (in this process).

    ``blocked`` says whether an account or an address has used up its allowance; failures
    count against the account, every attempt against the address; a success clears the
    account's failures.
    """

    def __init__(self, *, per_account: int, per_address: int, window_seconds: float) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, table: dict[str, deque[float]], key: str, now: float) -> deque[float]:
        times = table.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, account: str, address: str) -> int | None:
        """Seconds until a blocked account or address may try again; None when allowed.
        Counts this attempt against the address."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent(self._failures, account, now)
            attempts = self._recent(self._attempts, address, now)
            waits = []
            if len(failures) >= self.per_account:
                waits.append(failures[0] + self.window - now)
            if len(attempts) >= self.per_address:
                waits.append(attempts[0] + self.window - now)
            if waits:
                return max(1, int(max(waits)) + 1)
            attempts.append(now)
            return None

    def failed(self, account: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(self._failures, account, now).append(now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(account, None)
