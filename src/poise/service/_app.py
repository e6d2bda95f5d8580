"""The FastAPI application: ``create_app(settings)`` builds it (``poise serve`` runs it with
uvicorn); routes live under ``/api/v1``, the OpenAPI document at ``/api/v1/openapi.json``.
Other doors (the dashboard, order routes) add their routers to the app it returns and reuse
:func:`~poise.service.current_principal`, :func:`~poise.service.require` and
:meth:`~poise.service.ServiceState.read` / ``write`` (the firm scope)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from poise.service._auth_routes import router as auth_router
from poise.service._blotter import router as blotter_router
from poise.service._book import router as book_router
from poise.service._deps import ServiceState
from poise.service._households import router as households_router
from poise.service._http import body_limit, install_handlers
from poise.service._orders import router as orders_router
from poise.service._plans import router as plans_router
from poise.service._security import TokenSigner
from poise.service._settings import Settings
from poise.store import make_engine, upgrade

__all__ = ["API_PREFIX", "app_from_env", "create_app", "serve"]

API_PREFIX = "/api/v1"
log = logging.getLogger("poise.service")


def _signing_keys(settings: Settings) -> list[bytes]:
    from poise.store._secrets import SecretKeyError, load_keys

    try:
        keys, _ = load_keys(settings.home)
    except SecretKeyError as exc:
        import secrets

        log.warning("no secret key ring (%s): access tokens end when this process does", exc)
        return [secrets.token_bytes(32)]
    return keys


def create_app(settings: Settings) -> FastAPI:
    """The poise service for ``settings`` (its schema brought up to date first unless
    ``settings.migrate`` is false). The app's ``state.poise`` is the :class:`ServiceState`."""
    engine = make_engine(settings.database_url)
    if settings.migrate:
        upgrade(engine)
    signer = TokenSigner(
        _signing_keys(settings),
        issuer=settings.issuer,
        audience=settings.audience,
        lifetime_seconds=settings.access_token_seconds,
    )
    state = ServiceState(settings, engine, signer)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.dispatcher.start()  # the order sender, when this process holds the lease
        try:
            yield
        finally:
            state.dispatcher.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="poise",
        summary="Portfolio rebalancing for households, as a service",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.poise = state
    install_handlers(app)
    for router in (
        auth_router,
        households_router,
        plans_router,
        book_router,
        orders_router,
        blotter_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    from poise.service.web import install_dashboard

    install_dashboard(app)  # the dashboard's pages, at the root
    app.add_middleware(_BodyLimit, max_bytes=settings.max_body_bytes)
    return app


class _BodyLimit:
    """Starlette middleware wrapper of :func:`poise.service._http.body_limit`."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self._app = body_limit(app, max_bytes)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)


def app_from_env() -> FastAPI:
    """The app of a worker process started by :func:`serve` with several workers (settings
    from the environment; the parent has migrated the schema already)."""
    return create_app(Settings.from_env(migrate=False))


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the service with uvicorn until interrupted.

    With ``workers`` > 1, that many processes share the port (the schema is migrated once,
    here, first); each keeps its own login throttle, so the allowances apply per process.
    """
    import os

    import uvicorn

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "access_log": True,
        "server_header": False,
    }
    if workers <= 1:
        uvicorn.run(create_app(settings), **options)
        return
    engine = make_engine(settings.database_url)
    if settings.migrate:
        upgrade(engine)
    engine.dispose()
    _signing_keys(settings)  # the key file, made once here: every worker signs alike
    os.environ["POISE_DATABASE_URL"] = settings.database_url
    os.environ["POISE_HOME"] = str(settings.home)
    uvicorn.run(
        "poise.service._app:app_from_env",
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=300,  # a worker imports the engine before it answers
        **options,
    )
