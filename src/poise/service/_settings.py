"""The service's configuration: one frozen object built once (from the environment by
``poise serve``, directly by tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from poise.store import poise_home, resolve_database_url

__all__ = ["Settings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How the service runs.

    Parameters
    ----------
    database_url : str
        The store (see :func:`poise.store.resolve_database_url`).
    home : Path
        ``POISE_HOME``: where the secret key file lives.
    issuer, audience : str
        The ``iss`` and ``aud`` claims of access tokens.
    access_token_seconds, refresh_token_seconds : int
        Lifetimes of access tokens (JWT) and refresh tokens.
    max_body_bytes : int
        Larger request bodies are refused with 413.
    login_failures_per_account : int
        Failed logins allowed per account within ``login_window_seconds`` before 429.
    login_attempts_per_address : int
        Logins allowed per client address within ``login_window_seconds`` before 429.
    migrate : bool
        Bring the schema up to date when the app starts.
    """

    database_url: str
    home: Path
    issuer: str = "poise"
    audience: str = "poise-api"
    access_token_seconds: int = 15 * 60
    refresh_token_seconds: int = 14 * 24 * 3600
    max_body_bytes: int = 5 * 1024 * 1024
    login_failures_per_account: int = 5
    login_attempts_per_address: int = 30
    login_window_seconds: int = 300
    migrate: bool = True

    @classmethod
    def from_env(cls, database_url: str | None = None, **overrides: object) -> Settings:
        """Settings from ``--database-url`` / ``POISE_DATABASE_URL`` / ``POISE_HOME``."""
        return cls(
            database_url=resolve_database_url(database_url),
            home=poise_home(),
            **overrides,  # type: ignore[arg-type]
        )
