"""Who is looking at a page: the service's own login sessions, carried in cookies.

A page login goes through the service's ``POST /auth/token`` code (same password check, same
rate limit, same audit events), and keeps the two tokens it returns in cookies that scripts
cannot read (HttpOnly) and that other sites' requests do not carry (SameSite=Strict): the
short-lived access token, checked on every page exactly as the API checks a bearer token, and
the refresh token, traded for new ones (through ``POST /auth/refresh``) when the access token
has expired. Logging out or changing the password revokes the login session, so both stop
working at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from poise.service._auth_routes import RefreshRequest, TokenResponse
from poise.service._auth_routes import refresh as refresh_tokens
from poise.service._deps import Principal, ServiceState, current_principal
from poise.service.web._security import check_csrf, csrf_token

__all__ = [
    "ACCESS_COOKIE",
    "LOGIN_COOKIE",
    "REFRESH_COOKIE",
    "PageCaller",
    "clear_login_cookies",
    "csrf_key",
    "page_caller",
    "set_login_cookies",
]

ACCESS_COOKIE = "poise_session"
REFRESH_COOKIE = "poise_refresh"
LOGIN_COOKIE = "poise_login"
"""A random value that binds the login form's CSRF token before there is a session."""


class LoginRequired(Exception):
    """No valid login session: the page sends the browser to ``/login``."""


@dataclass(frozen=True, slots=True)
class PageCaller:
    """The signed-in user of a page, with the CSRF token of their login session and any
    tokens renewed while answering (set as cookies on the response)."""

    principal: Principal
    firm: str
    csrf_token: str
    renewed: TokenResponse | None = None

    @property
    def can_act(self) -> bool:
        """Advisors and admins act on plans; viewers only look."""
        return self.principal.can("advisor")

    def view(self) -> dict[str, str]:
        return {"email": self.principal.email, "role": self.principal.role, "firm": self.firm}


def csrf_key(state: ServiceState) -> bytes:
    """The key of CSRF tokens: derived from the secret key ring when there is one (stable
    across restarts and processes), else random for this process."""
    key: bytes | None = getattr(state, "_dashboard_csrf_key", None)
    if key is None:
        try:
            from poise.store._secrets import load_keys

            keys, _ = load_keys(state.settings.home)
            key = hmac.new(keys[0], b"poise dashboard csrf v1", hashlib.sha256).digest()
        except Exception:  # no key ring: tokens last as long as this process
            key = secrets.token_bytes(32)
        state._dashboard_csrf_key = key  # type: ignore[attr-defined]
    return key


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def set_login_cookies(
    response: Response, request: Request, state: ServiceState, tokens: TokenResponse
) -> None:
    """Keep a login's tokens in the browser (the access token for the refresh token's life,
    so that an expired one can still be told apart from none)."""
    life = state.settings.refresh_token_seconds
    _cookie(response, request, ACCESS_COOKIE, tokens.access_token, life)
    _cookie(response, request, REFRESH_COOKIE, tokens.refresh_token, life)


def clear_login_cookies(response: Response) -> None:
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        response.delete_cookie(name, path="/", httponly=True, samesite="strict")


def login_binding(request: Request, response: Response | None = None) -> str:
    """The pre-login CSRF binding: the login cookie's value, made (and set on ``response``)
    when missing."""
    value = request.cookies.get(LOGIN_COOKIE, "")
    if len(value) < 32 and response is not None:
        value = secrets.token_urlsafe(32)
        _cookie(response, request, LOGIN_COOKIE, value, 3600)
    return value


def _principal(state: ServiceState, token: str) -> Principal | None:
    try:
        return current_principal(
            state, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
        )
    except HTTPException:
        return None


def page_caller(request: Request, state: ServiceState) -> PageCaller:
    """The signed-in user of this request.

    Raises
    ------
    LoginRequired
        No cookie, or a revoked or expired login whose refresh token no longer works.
    """
    renewed = None
    access = request.cookies.get(ACCESS_COOKIE)
    principal = _principal(state, access) if access else None
    if principal is None or principal.session_id is None:
        refresh = request.cookies.get(REFRESH_COOKIE)
        if not refresh or len(refresh) > 1024:
            raise LoginRequired
        try:
            renewed = refresh_tokens(RefreshRequest(refresh_token=refresh), state)
        except HTTPException:
            raise LoginRequired from None
        principal = _principal(state, renewed.access_token)
        if principal is None or principal.session_id is None:
            raise LoginRequired
    with state.read(principal) as scope:
        firm = scope.firm().name
    token = csrf_token(csrf_key(state), principal.session_id)
    return PageCaller(principal, firm, token, renewed)


def csrf_ok(
    request: Request, state: ServiceState, caller: PageCaller | None, sent: str | None
) -> bool:
    """Whether a state-changing request carries the right CSRF token (form field or
    ``X-CSRF-Token`` header)."""
    token = sent or request.headers.get("x-csrf-token")
    if caller is not None and caller.principal.session_id is not None:
        return check_csrf(csrf_key(state), caller.principal.session_id, token)
    return check_csrf(csrf_key(state), login_binding(request), token)


def login_url(request: Request) -> str:
    """``/login`` with the page asked for as ``next``."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return "/login?next=" + quote(target, safe="")
