"""Every layer a request passes through before its route, in the order they run (create_app
adds them): this module, so that following a request means reading one file, and the last
one, which lives with the kept answers it serves (app/http/kept.py).

1. `AccessLog`: one line per request, written by the app instead of uvicorn's, which names
   every client address and full path (a result's id is the key to someone's answers): method,
   the route's pattern (`/results/{response_id}`, not the id), status, milliseconds and how it
   was answered (`served=route`, `served=cache`, `served=kept`, `served=layer`, `served=none`:
   app/http/answers.py). ACCESS_LOG_DETAIL=true adds the client address and the full path,
   for debugging on a machine where that is allowed.
2. `SecurityHeaders`: on every answer, even the early 413 (app/http/answers.py `HEADERS`);
   and a redirect to the request's own Host made relative (`relative_location`).
3. `HeadAsGet`: `HEAD` wherever `GET` works, answered as the GET would be without the body.
4. `Draining`: after SIGTERM, every new request gets a 503 that closes its connection
   (app/server.py `Drain`).
5. `RequestLimits`: what a request may bring, answered before the app runs: the head's count
   of header fields and bytes (431) and the body's size (413). The server refuses an oversized
   head before buffering it (app/server.py); the check here holds the same limits for any
   other server.
6. Starlette's `GZipMiddleware`.
7. `Cors`, for the JSON API: a route marked `@public` (read-only content: the quiz, the
   framework, a condition, the benchmarks) answers any origin; the mark is on the route, and
   the paths are read from the app's mounts (app/http/mounts.py). The rest of the API answers
   the registered partners' origins and ALLOWED_ORIGINS, and nobody else; a preflight from any
   other origin gets a 403 in the error shape.

8. `KeptAnswers` (app/http/kept.py): a `GET` without a query string that its route has
   answered before and kept (the plain `/quiz` page, result pages, stored responses, the quiz
   and framework JSON) is answered from that, without routing.

Then FastAPI: the app-wide dependency that refuses text no database can store and each route's
own dependencies (app/deps.py), and the route.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import RETRY_AFTER_SECONDS, error_body
from app.http.answers import HEADERS, SERVED, header, route_pattern, served, served_as
from app.http.mounts import DeclaredRoute

# --- 1. the access log -------------------------------------------------------------------------

ACCESS_LOG = logging.getLogger("app.access")


class AccessLog:
    def __init__(self, app: ASGIApp, detail: bool = False):
        self.app = app
        self.detail = detail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = [500]

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            path = route_pattern(scope)
            elapsed = (time.perf_counter() - began) * 1000
            if self.detail:
                client = scope.get("client") or ("-", 0)
                query = scope.get("query_string", b"").decode("latin-1")
                full = scope["path"] + (f"?{query}" if query else "")
                ACCESS_LOG.info(
                    "%s %s %s %d %.1fms served=%s",
                    client[0],
                    scope["method"],
                    full,
                    status[0],
                    elapsed,
                    served_as(scope),
                )
            else:
                ACCESS_LOG.info(
                    "%s %s %d %.1fms served=%s",
                    scope["method"],
                    path,
                    status[0],
                    elapsed,
                    served_as(scope),
                )


# --- 2. security headers -----------------------------------------------------------------------

# FastAPI's interactive docs load Swagger UI from a CDN with an inline bootstrap script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


REDIRECTS = frozenset({301, 302, 303, 307, 308})


def relative_location(location: bytes, host: bytes) -> bytes:
    """A redirect to `http(s)://<the request's Host><path>` as `<path>` alone. FastAPI's
    trailing-slash redirect (`/drafts/<token>/` to `/drafts/<token>`) builds an absolute URL
    from the Host header, forged or not, so a forged Host pointed it, token and all, at another
    site; a browser resolves a relative one against the address it asked. Our own redirects
    are relative already. Leading slashes are collapsed to one: `//x` would name a host."""
    for scheme in (b"http://", b"https://"):
        prefix = scheme + host
        rest = location[len(prefix) :]
        if location.startswith(prefix) and rest[:1] in (b"/", b"?", b""):
            return b"/" + rest.lstrip(b"/")
    return location


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = HEADERS
        if scope["path"] in DOCS_PATHS:
            headers = [(b"content-security-policy", DOCS_CSP.encode()), *HEADERS[1:]]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent = list(message.get("headers", []))
                if message["status"] in REDIRECTS:
                    host = header(scope, b"host")
                    if host:
                        sent = [
                            (k, relative_location(v, host) if k.lower() == b"location" else v)
                            for k, v in sent
                        ]
                existing = {name.lower() for name, _ in sent}
                message["headers"] = sent + [
                    (name, value) for name, value in headers if name not in existing
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- 3. HEAD as GET -----------------------------------------------------------------------------


class HeadAsGet:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        done = False

        async def send_headers_only(message: Message) -> None:
            nonlocal done
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body" and not done:
                if not message.get("more_body", False):
                    done = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

        as_get = {**scope, "method": "GET"}
        try:
            await self.app(as_get, receive, send_headers_only)
        finally:
            # What routing found, for the access log (which sees this scope, not the copy).
            for found in ("route", "endpoint", "path_params", SERVED):
                if found in as_get:
                    scope[found] = as_get[found]


# --- 4. the drain before shutdown ---------------------------------------------------------------


class DrainState(Protocol):
    draining: bool


class Draining:
    """While draining, every new request gets a 503 that closes its connection."""

    def __init__(self, app: ASGIApp, drain: DrainState):
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.drain.draining:
            retry = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
            again = (
                "Nothing was stored; please send it again in a few seconds."
                if scope["method"] == "POST"
                else "Please try again in a few seconds."
            )
            message = f"The service is restarting. {again}"
            await early_answer(scope, send, 503, "unavailable", message, headers=retry)
            return
        await self.app(scope, receive, send)


# --- 5. request limits --------------------------------------------------------------------------

# A request's head: its request line and header fields. Browsers send well under 2 KiB; 16 KiB
# and 100 fields are what Node and Apache allow by default.
MAX_HEADERS = 100
MAX_HEAD_BYTES = 16 * 1024
HEAD_TOO_LARGE = (
    f"The request's headers are too large: at most {MAX_HEADERS} fields and "
    f"{MAX_HEAD_BYTES // 1024} KiB in all."
)


class BodyTooLarge(HTTPException):
    """Raised while a streamed body is read; FastAPI passes HTTPExceptions through body parsing,
    so the app's error handlers answer it with a 413 in the usual shape."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"The request body is larger than {max_bytes // 1024} KiB.")


def head_too_large(scope: Scope) -> bool:
    headers = scope.get("headers") or []
    if len(headers) > MAX_HEADERS:
        return True
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return size + sum(len(name) + len(value) + 4 for name, value in headers) > MAX_HEAD_BYTES


class RequestLimits:
    """The head's limits (431), then the body's (413): one layer, not two, on every request."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if head_too_large(scope):
            await early_answer(scope, send, 431, "headers_too_large", HEAD_TOO_LARGE)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._reject(scope, send)
                return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            # Only reached when something read the body outside FastAPI's handlers.
            if not response_started:
                await self._reject(scope, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        message = f"The request body is larger than {self.max_bytes // 1024} KiB."
        await early_answer(
            scope,
            send,
            413,
            "payload_too_large",
            message,
            "Please go back and shorten what you typed.",
        )


async def early_answer(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    message: str,
    advice: str = "",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer without the app, and close the connection (what comes after is not read)."""
    served(scope, "layer")
    body, kind = early_response(scope["path"], status, code, message, advice)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


TITLES = {
    413: "That was too much to send",
    431: "That request was too large",
    503: "Temporarily unavailable",
}


def early_response(
    path: str, status: int, code: str, message: str, advice: str = ""
) -> tuple[bytes, bytes]:
    """The body and content type of an answer made without the app: the error shape for the
    API and /healthz, a short page for anything a person may have asked for."""
    if path.startswith("/api") or path == "/healthz":
        return json.dumps(error_body(code, message)).encode(), b"application/json"
    page = EARLY_PAGE.format(
        title=html.escape(TITLES.get(status, "Something went wrong")),
        message=html.escape(f"{message} {advice}".strip()),
    )
    return page.encode(), b"text/html; charset=utf-8"


# Answered before the app runs, so without templates: plain, self-contained, no script.
EARLY_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Where should your state begin?</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body><main id="main" class="wrap"><h1>{title}</h1>
<p class="lead">{message}</p>
<p><a class="button" href="/quiz">Take the quiz</a> <a href="/">Go to the start page</a></p>
</main></body></html>"""


# --- 7. CORS ------------------------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])
ALLOW_HEADERS = "Content-Type, X-API-Key, Idempotency-Key"
EXPOSE_HEADERS = "Retry-After, Idempotent-Replayed"


def public(endpoint: F) -> F:
    """Mark a route's endpoint as answering any origin (put it under the route's decorator)."""
    endpoint.cors_public = True  # type: ignore[attr-defined]  # read by `public_paths`
    return endpoint


def public_paths(routes: Sequence[DeclaredRoute]) -> list[re.Pattern[str]]:
    """The path patterns of the routes marked `@public`."""
    return [
        compile_path(route.path)[0]
        for route in routes
        if getattr(route.endpoint, "cors_public", False)
    ]


class Origins(Protocol):
    def fresh(self) -> frozenset[str] | None: ...

    def allowed(self) -> frozenset[str]: ...


class Cors:
    """`origins`: where the allowed origins are kept (app/partners/registry.py OriginCache),
    read from the database in the thread pool when they are not at hand (every 30 s at most).
    `routes`: the app's (app/http/mounts.py)."""

    def __init__(
        self, app: ASGIApp, origins: Callable[[], Origins], routes: Sequence[DeclaredRoute]
    ):
        self.app = app
        self.origins = origins
        self._public = public_paths(routes)

    def is_public(self, path: str) -> bool:
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
