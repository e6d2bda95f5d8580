"""``/auth``: log in (form fields ``username``, ``password``), refresh, log out, change the
password, API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from poise._errors import InputError
from poise.service._deps import Principal, ServiceState, State, current_principal
from poise.service._http import ObjectId, documented
from poise.service._security import API_TOKEN_PREFIX, digest_token, new_token
from poise.service._settings import Settings
from poise.store import (
    ApiToken,
    AuthSession,
    RefreshToken,
    User,
    new_id,
    utcnow,
    write_session,
)
from poise.store._admin import check_new_password
from poise.store._audit import append_event
from poise.store._passwords import check_password, hash_password, needs_rehash

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["auth"])

Caller = Annotated[Principal, Depends(current_principal)]
_Field = Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^[^\x00]*$")]


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: _Field


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: _Field | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: _Field
    new_password: _Field


class ApiTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


class ApiTokenCreated(BaseModel):
    id: str
    name: str
    token: str


_dummy_hash: str | None = None


def _unknown_user_hash() -> str:
    """A hash of the current profile to verify against when the user is unknown, so the
    answer takes as long as for a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(new_token())
    return _dummy_hash


def _issue(session: Session, settings: Settings, state: ServiceState, user: User) -> TokenResponse:
    """A new login session for ``user`` and its first tokens."""
    auth = AuthSession(id=new_id(), user_id=user.id)
    session.add(auth)
    session.flush()
    return _rotate(session, settings, state, user, auth.id)


def _rotate(
    session: Session, settings: Settings, state: ServiceState, user: User, sid: str
) -> TokenResponse:
    """A new access token and refresh token of login session ``sid``."""
    refresh = new_token()
    session.add(
        RefreshToken(
            session_id=sid,
            token_hash=digest_token(refresh),
            expires_at=utcnow() + timedelta(seconds=settings.refresh_token_seconds),
        )
    )
    return TokenResponse(
        access_token=state.signer.issue(user.id, sid),
        expires_in=settings.access_token_seconds,
        refresh_token=refresh,
    )


@router.post(
    "/token",
    response_model=TokenResponse,
    responses=documented(401, 413, 422, 429),
    summary="Log in with an e-mail address and password",
)
def login(
    request: Request,
    state: State,
    username: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
) -> TokenResponse | Response:
    """Form fields ``username`` (the e-mail address) and ``password``. Answers 401 for a
    wrong password and an unknown user alike (in the same time), 429 after too many
    attempts for the account or from the address."""
    account = username.strip().lower()
    address = request.client.host if request.client else "unknown"
    wait = state.throttle.retry_after(account, address)
    if wait is not None:
        raise HTTPException(
            status_code=429,
            detail="too many login attempts; try again later",
            headers={"Retry-After": str(wait)},
        )
    clean = "\x00" not in account and "\x00" not in password
    with write_session(state.engine) as session:
        user = session.scalar(select(User).where(User.email == account)) if clean else None
        ok = check_password(user.password_hash if user else _unknown_user_hash(), password)
        if user is None or not ok:
            state.throttle.failed(account)
            append_event(
                session,
                actor=user.email if user else "unknown",
                action="auth.login_failed",
                obj=f"user:{user.id}" if user else "user:unknown",
                firm_id=user.firm_id if user else None,
                detail={"address": address},
            )
            failed = True
        else:
            failed = False
            state.throttle.succeeded(account)
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            tokens = _issue(session, state.settings, state, user)
            append_event(
                session,
                actor=user.email,
                action="auth.login",
                obj=f"user:{user.id}",
                firm_id=user.firm_id,
                detail={"address": address},
            )
    if failed:
        raise HTTPException(
            status_code=401,
            detail="wrong e-mail address or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return tokens


@router.post(
    "/refresh",
    response_model=TokenResponse,
    responses=documented(401, 413, 422),
    summary="Trade a refresh token for new tokens",
)
def refresh(body: RefreshRequest, state: State) -> TokenResponse:
    """Each refresh token works once; the answer carries its replacement. Presenting a used
    one again revokes its whole login session (it was stolen, or the client is confused)."""
    now = utcnow()
    with write_session(state.engine) as session:
        row = session.execute(
            select(RefreshToken, AuthSession, User)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .join(User, User.id == AuthSession.user_id)
            .where(RefreshToken.token_hash == digest_token(body.refresh_token))
        ).first()
        valid = False
        if row is not None:
            token, auth, user = row
            if token.used_at is not None:
                auth.revoked_at = auth.revoked_at or now
                append_event(
                    session,
                    actor=user.email,
                    action="auth.refresh_reused",
                    obj=f"session:{auth.id}",
                    firm_id=user.firm_id,
                )
            elif auth.revoked_at is None and token.expires_at > now:
                token.used_at = now
                tokens = _rotate(session, state.settings, state, user, auth.id)
                valid = True
    if not valid:
        raise HTTPException(
            status_code=401, detail="invalid refresh token", headers={"WWW-Authenticate": "Bearer"}
        )
    return tokens


@router.post(
    "/logout",
    status_code=204,
    responses=documented(401, 413, 422),
    summary="End this login session",
)
def logout(caller: Caller, state: State, body: LogoutRequest | None = None) -> Response:
    """Revokes the login session of the access token (its refresh tokens stop working, its
    access tokens too); with an API token, revokes that API token."""
    with write_session(state.engine) as session:
        now = utcnow()
        if caller.session_id is not None:
            session.execute(
                update(AuthSession)
                .where(AuthSession.id == caller.session_id, AuthSession.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        append_event(
            session,
            actor=caller.email,
            action="auth.logout",
            obj=f"user:{caller.user_id}",
            firm_id=caller.firm_id,
        )
    return Response(status_code=204)


@router.post(
    "/password",
    status_code=204,
    responses=documented(401, 413, 422),
    summary="Change the password (ends every login session)",
)
def change_password(body: PasswordChange, caller: Caller, state: State) -> Response:
    try:
        check_new_password(body.new_password, field="new_password")
    except InputError as exc:
        raise HTTPException(
            status_code=422,
            detail=[{"loc": ["body", "new_password"], "msg": exc.message, "type": "value_error"}],
        ) from None
    with write_session(state.engine) as session:
        user = session.get(User, caller.user_id)
        assert user is not None
        if not check_password(user.password_hash, body.current_password):
            raise HTTPException(
                status_code=422,
                detail=[
                    {
                        "loc": ["body", "current_password"],
                        "msg": "wrong password",
                        "type": "value_error",
                    }
                ],
            )
        user.password_hash = hash_password(body.new_password)
        session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        append_event(
            session,
            actor=user.email,
            action="auth.password_change",
            obj=f"user:{user.id}",
            firm_id=user.firm_id,
        )
    return Response(status_code=204)


@router.post(
    "/api-tokens",
    status_code=201,
    response_model=ApiTokenCreated,
    responses=documented(401, 413, 422),
    summary="Create an API token for scripts (shown once)",
)
def create_api_token(body: ApiTokenRequest, caller: Caller, state: State) -> ApiTokenCreated:
    token = new_token(API_TOKEN_PREFIX)
    with write_session(state.engine) as session:
        row = ApiToken(user_id=caller.user_id, name=body.name, token_hash=digest_token(token))
        session.add(row)
        session.flush()
        append_event(
            session,
            actor=caller.email,
            action="auth.api_token_create",
            obj=f"api_token:{row.id}",
            firm_id=caller.firm_id,
        )
        return ApiTokenCreated(id=row.id, name=row.name, token=token)


@router.delete(
    "/api-tokens/{token_id}",
    status_code=204,
    responses=documented(401, 404, 422),
    summary="Revoke one of the caller's API tokens",
)
def revoke_api_token(token_id: ObjectId, caller: Caller, state: State) -> Response:
    with write_session(state.engine) as session:
        row = session.scalar(
            select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == caller.user_id)
        )
        if row is None:
            raise HTTPException(status_code=404, detail="not found")
        row.revoked_at = row.revoked_at or utcnow()
        append_event(
            session,
            actor=caller.email,
            action="auth.api_token_revoke",
            obj=f"api_token:{row.id}",
            firm_id=caller.firm_id,
        )
    return Response(status_code=204)
