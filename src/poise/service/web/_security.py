"""Browser-facing protections: the content security policy and other response headers, and
CSRF tokens bound to the session.

A CSRF token is an HMAC of the session's id under a server key, so it needs no storage, differs
per session and cannot be made without the key; a form or htmx request that changes anything
must carry it (field ``csrf_token`` or header ``X-CSRF-Token``). Before login the binding is a
random value kept in a short-lived cookie (the login form is protected the same way).
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "check_csrf", "csrf_token"]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
"""Everything from this server only: no inline script or style, no external request; frames
from this server only (the backtest report, which has its own, sandboxed policy)."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
"""Headers on every dashboard page and fragment."""


def csrf_token(key: bytes, binding: str) -> str:
    """The CSRF token for ``binding`` (a session id, or the pre-login cookie's value)."""
    return hmac.new(key, b"poise-csrf:" + binding.encode(), hashlib.sha256).hexdigest()


def check_csrf(key: bytes, binding: str, token: str | None) -> bool:
    """Whether ``token`` is the CSRF token of ``binding`` (constant-time comparison)."""
    if not token or not binding:
        return False
    return hmac.compare_digest(csrf_token(key, binding), token)
