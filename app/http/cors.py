"""CORS for the JSON API, as plain ASGI middleware.

Read-only content (`/api/v1/quiz`, `/framework`, `/conditions/*`) answers any origin. The rest of
the API answers the registered partners' origins and ALLOWED_ORIGINS, and nobody else; a
preflight from any other origin gets a 403 in the error shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body

PUBLIC = re.compile(r"^/api/v1/(quiz|framework|benchmarks|conditions/[^/]+)$")
ALLOW_HEADERS = "Content-Type, X-API-Key, Idempotency-Key"
EXPOSE_HEADERS = "Retry-After, Idempotent-Replayed"


class Cors:
    def __init__(self, app: ASGIApp, allowed: Callable[[], frozenset[str]]):
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        if not origin:
            await self.app(scope, receive, send)
            return
        public = bool(PUBLIC.match(scope["path"]))
        allow = (
            "*" if public else (origin if origin in await run_in_threadpool(self.allowed) else None)
        )
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
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
