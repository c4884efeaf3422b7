"""CORS for the JSON API, as plain ASGI middleware.

A route marked `@public` (read-only content: the quiz, the framework, a condition, the
benchmarks) answers any origin; the mark is on the route, and the paths are read from the app's
routes. The rest of the API answers the registered partners' origins and ALLOWED_ORIGINS, and
nobody else; a preflight from any other origin gets a 403 in the error shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from fastapi.routing import iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body
from app.http.answers import served

F = TypeVar("F", bound=Callable[..., Any])
ALLOW_HEADERS = "Content-Type, X-API-Key, Idempotency-Key"
EXPOSE_HEADERS = "Retry-After, Idempotent-Replayed"


def public(endpoint: F) -> F:
    """Mark a route's endpoint as answering any origin (put it under the route's decorator)."""
    endpoint.cors_public = True  # type: ignore[attr-defined]  # read by `public_paths`
    return endpoint


def public_paths(routes: Sequence[BaseRoute]) -> list[re.Pattern[str]]:
    """The path patterns of the routes marked `@public`, included routers' too (FastAPI keeps
    them nested: `iter_route_contexts` gives each route with its full path)."""
    return [
        compile_path(context.path)[0]
        for context in iter_route_contexts(routes)
        if context.path and getattr(context.endpoint, "cors_public", False)
    ]


class Origins(Protocol):
    def fresh(self) -> frozenset[str] | None: ...

    def allowed(self) -> frozenset[str]: ...


class Cors:
    """`origins`: where the allowed origins are kept (app/partners/registry.py OriginCache),
    read from the database in the thread pool when they are not at hand (every 30 s at most).
    `routes`: the app's, read when the first request comes (every router is in by then)."""

    def __init__(self, app: ASGIApp, origins: Callable[[], Origins], routes: Sequence[BaseRoute]):
        self.app = app
        self.origins = origins
        self.routes = routes
        self._public: list[re.Pattern[str]] | None = None

    def is_public(self, path: str) -> bool:
        if self._public is None:
            self._public = public_paths(self.routes)
        return any(pattern.match(path) for pattern in self._public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        if not origin:
            await self.app(scope, receive, send)
            return
        public = self.is_public(scope["path"])
        allow = "*" if public else (origin if origin in await self._allowed() else None)
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            served(scope, "layer")
            await self._preflight(send, allow, public)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allow is not None:
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", allow.encode("latin-1")),
                    (b"access-control-expose-headers", EXPOSE_HEADERS.encode()),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _allowed(self) -> frozenset[str]:
        kept = self.origins()
        found = kept.fresh()
        return found if found is not None else await run_in_threadpool(kept.allowed)

    async def _preflight(self, send: Send, allow: str | None, public: bool) -> None:
        if allow is None:
            body = json.dumps(
                error_body("forbidden", "This origin may not call this part of the API.")
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"vary", b"Origin")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        methods = "GET, OPTIONS" if public else "GET, POST, OPTIONS"
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-origin", allow.encode("latin-1")),
                    (b"access-control-allow-methods", methods.encode()),
                    (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                    (b"access-control-max-age", b"600"),
                    (b"vary", b"Origin"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})
