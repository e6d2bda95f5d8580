"""The service's shared state and the dependencies routes declare: who is calling
(:func:`current_principal`), with which role (:func:`require`), and the caller's firm scope
(:meth:`ServiceState.scope`), the one place every query is filtered by firm."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, select

from poise.service._security import API_TOKEN_PREFIX, LoginThrottle, TokenSigner, digest_token
from poise.service._settings import Settings
from poise.store import (
    ApiToken,
    AuthSession,
    FirmScope,
    User,
    read_session,
    write_session,
)

if TYPE_CHECKING:
    from poise.service._sending import OrderDispatcher

__all__ = [
    "ROLE_RANK",
    "Admin",
    "Advisor",
    "Principal",
    "ServiceState",
    "State",
    "Viewer",
    "current_principal",
    "require",
    "service_state",
]

ROLE_RANK = {"viewer": 0, "advisor": 1, "admin": 2}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    user_id: int
    firm_id: int
    email: str
    role: str
    session_id: str | None  # None for an API token

    def can(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class ServiceState:
    """What the app keeps between requests: settings, the engine, the token signer, the
    login throttle and the secret key ring (loaded lazily: the service runs without one, but
    refuses to store secrets)."""

    def __init__(self, settings: Settings, engine: Engine, signer: TokenSigner) -> None:
        self.settings = settings
        self.engine = engine
        self.signer = signer
        self.throttle = LoginThrottle(
            per_account=settings.login_failures_per_account,
            per_address=settings.login_attempts_per_address,
            window_seconds=settings.login_window_seconds,
        )
        self._dispatcher: OrderDispatcher | None = None
        self._dispatcher_lock = threading.Lock()

    @property
    def dispatcher(self) -> OrderDispatcher:
        """This process's order sender (made on first use; started by the app's start-up or by
        the first send)."""
        with self._dispatcher_lock:
            if self._dispatcher is None:
                from poise.service._sending import OrderDispatcher

                self._dispatcher = OrderDispatcher(self)
            return self._dispatcher

    def keyring(self) -> object:
        from poise.store._secrets import load_keys, make_ring

        keys, _ = load_keys(self.settings.home)
        return make_ring(keys)

    @contextmanager
    def read(self, principal: Principal) -> Iterator[FirmScope]:
        """The caller's firm scope in a read-only transaction."""
        with read_session(self.engine) as session:
            yield FirmScope(session, principal.firm_id, principal.email)

    @contextmanager
    def write(self, principal: Principal) -> Iterator[FirmScope]:
        """The caller's firm scope in one short write transaction (committed at the end)."""
        with write_session(self.engine) as session:
            yield FirmScope(session, principal.firm_id, principal.email)


def service_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.poise
    return state


_bearer = HTTPBearer(auto_error=False, description="An access token or an API token")

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def _unauthorized(detail: str = "missing, invalid or expired token") -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers=_UNAUTHORIZED)


def current_principal(
    state: Annotated[ServiceState, Depends(service_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from ``Authorization: Bearer TOKEN`` (an access token whose login session
    is not revoked, or an unrevoked API token); 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized()
    token = credentials.credentials
    if "\x00" in token or len(token) > 4096:
        raise _unauthorized()
    with read_session(state.engine) as session:
        if token.startswith(API_TOKEN_PREFIX):
            row = session.execute(
                select(User, ApiToken)
                .join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == digest_token(token), ApiToken.revoked_at.is_(None))
            ).first()
            if row is None:
                raise _unauthorized()
            user = row[0]
            return Principal(user.id, user.firm_id, user.email, user.role, None)
        claims = state.signer.verify(token)
        if claims is None:
            raise _unauthorized()
        found = session.execute(
            select(User, AuthSession)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(
                User.id == claims.user_id,
                AuthSession.id == claims.session_id,
                AuthSession.revoked_at.is_(None),
            )
        ).first()
        if found is None:
            raise _unauthorized()
        user = found[0]
        return Principal(user.id, user.firm_id, user.email, user.role, claims.session_id)


def require(role: str) -> Callable[[Principal], Principal]:
    """A dependency admitting callers whose role is ``role`` or higher (403 otherwise)."""

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(role):
            raise HTTPException(status_code=403, detail=f"needs the {role} role")
        return principal

    return check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Advisor = Annotated[Principal, Depends(require("advisor"))]
Admin = Annotated[Principal, Depends(require("admin"))]
State = Annotated[ServiceState, Depends(service_state)]
