"""What both Alpaca doors share: the keys from the environment and an HTTP client made safe
(alpaca-py's own retries off, a timeout on every request)."""

from __future__ import annotations

import os
from typing import Any

from poise._errors import InputError

__all__ = ["alpaca_keys", "make_safe", "timeout_session"]


def alpaca_keys() -> tuple[str, str]:
    """The key id and secret from ``APCA_API_KEY_ID`` and ``APCA_API_SECRET_KEY``."""
    key, secret = os.environ.get("APCA_API_KEY_ID"), os.environ.get("APCA_API_SECRET_KEY")
    if not key or not secret:
        raise InputError(
            "set APCA_API_KEY_ID and APCA_API_SECRET_KEY to your Alpaca keys",
            field="APCA_API_KEY_ID",
        )
    return key, secret


def timeout_session(timeout: float) -> Any:
    """A ``requests.Session`` whose every request has ``timeout`` unless the call sets one."""
    import requests

    class _Session(requests.Session):
        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", timeout)
            return super().request(method, url, *args, **kwargs)

    return _Session()


def make_safe(client: Any, timeout: float) -> Any:
    """Turn off alpaca-py's own retries and give its session a timeout."""
    client._retry = 0
    client._retry_codes = []
    client._session = timeout_session(timeout)
    return client
