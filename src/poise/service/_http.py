"""What every route shares: error bodies and their OpenAPI documentation, exception
handlers, the request-size limit and pagination.

Error bodies: ``{"detail": "message"}``, and for 422 ``{"detail": [{"loc": [...], "msg": ...,
"type": ...}]}`` where ``loc`` is the path of the bad field (``["body", "deposit",
"amount"]``, ``["body", "line 3"]`` for CSV bodies). Bodies never echo the input back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from poise._errors import DataError, InputError
from poise.app import NotFoundError
from poise.store._secrets import SecretKeyError

__all__ = [
    "Conflict",
    "ErrorBody",
    "Limit",
    "ObjectId",
    "Offset",
    "ValidationBody",
    "body_limit",
    "documented",
    "input_error",
    "install_handlers",
    "reject_nul",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


ObjectId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{32}$", description="An object's id (32 lowercase hex digits)")
]
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip")]


class ErrorBody(BaseModel):
    """An error: what went wrong and how to fix it."""

    detail: str


class ValidationItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    loc: list[str | int]
    msg: str
    type: str


class ValidationBody(BaseModel):
    """Bad input: one item per bad field, ``loc`` its path."""

    detail: list[ValidationItem]


class Conflict(Exception):
    """409: the request conflicts with the object's state (e.g. a plan made from holdings or
    prices that changed since)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_DESCRIPTIONS = {
    400: "Bad request",
    401: "No token, or an invalid or expired one",
    403: "The caller's role does not allow this",
    404: "No such object for the caller's firm",
    409: "Conflicts with the object's current state",
    413: "Request body too large",
    422: "Bad input; `loc` is the path of the field",
    429: "Too many login attempts; retry after the `Retry-After` seconds",
    502: "The broker failed; the orders stay recorded: send again to finish them",
    503: "No secret key is available to encrypt the secret",
}


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error ``codes`` a route can answer."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        model: type[BaseModel] = ValidationBody if code == 422 else ErrorBody
        out[code] = {"model": model, "description": _DESCRIPTIONS[code]}
    return out


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _field_path(field: str | None) -> list[str | int]:
    """``accounts[0].id`` → ``["body", "accounts", 0, "id"]``; ``line 3`` stays whole."""
    if not field:
        return ["body"]
    parts: list[str | int] = []
    for name, index in _PART.findall(field):
        if index:
            parts.append(int(index))
        else:
            parts.append(int(name) if name.isdigit() else name)
    return ["body", *parts]


def input_error(exc: InputError | DataError, prefix: list[str | int] | None = None) -> JSONResponse:
    """422 for an engine ``InputError`` (its field as the path) or a ``DataError``."""
    if isinstance(exc, InputError):
        loc = _field_path(exc.field) if prefix is None else [*prefix, *(_field_path(exc.field)[1:])]
        msg = f"{exc.source}: {exc.message}" if exc.source else exc.message
    else:
        loc, msg = (prefix or ["body"]), str(exc)
    return JSONResponse(
        status_code=422, content={"detail": [{"loc": loc, "msg": msg, "type": "value_error"}]}
    )


def reject_nul(value: Any, path: list[str | int]) -> None:
    """Raise a 422 naming the first string (or key) holding a NUL character."""
    if isinstance(value, str):
        if "\x00" in value:
            raise RequestValidationError(
                [{"loc": path, "msg": "must not contain NUL characters", "type": "value_error"}]
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key, path)
            reject_nul(item, [*path, key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            reject_nul(item, [*path, i])


def install_handlers(app: FastAPI) -> None:
    """Map poise's errors to status codes; keep input out of error bodies."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = []
        for err in exc.errors():
            msg = str(err.get("msg", "invalid"))
            if "\x00" in msg:
                msg = "invalid value"
            items.append(
                {
                    "loc": list(err.get("loc", ["body"])),
                    "msg": msg,
                    "type": str(err.get("type", "value_error")),
                }
            )
        return JSONResponse(status_code=422, content={"detail": items})

    @app.exception_handler(InputError)
    async def _input(_: Request, exc: InputError) -> JSONResponse:
        return input_error(exc)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        return input_error(exc)

    @app.exception_handler(RecursionError)
    async def _too_deep(_: Request, exc: RecursionError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={
                "detail": [
                    {"loc": ["body"], "msg": "the body is nested too deeply", "type": "value_error"}
                ]
            },
        )

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": "not found"})

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": exc.message})

    @app.exception_handler(SecretKeyError)
    async def _no_key(_: Request, exc: SecretKeyError) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            content={"detail": "no secret key is available; the administrator must set one"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not parse the body: bad input, 422
            return JSONResponse(
                status_code=422,
                content={
                    "detail": [
                        {"loc": ["body"], "msg": "the body cannot be parsed", "type": "value_error"}
                    ]
                },
            )
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.detail},
            headers=getattr(exc, "headers", None),
        )


def body_limit(app: ASGIApp, max_bytes: int) -> ASGIApp:
    """ASGI middleware: answer 413 to a request whose body exceeds ``max_bytes`` (by its
    Content-Length, or as it streams in), before the route sees it."""

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > max_bytes:
                    await _too_large(send, max_bytes)
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body = message.get("body", b"")
            size += len(body)
            if size > max_bytes:
                await _too_large(send, max_bytes)
                return
            chunks.append(body)
            more = message.get("more_body", False)
        whole = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await app(scope, replay, send)

    return limited


async def _too_large(send: Send, max_bytes: int) -> None:
    body = json.dumps({"detail": f"request body larger than {max_bytes} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
