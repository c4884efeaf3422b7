"""Limits on what a request may bring, as plain ASGI middleware, answered before the app runs:
the body's size (413) and the head's, its count of header fields and their bytes (431). The
server refuses an oversized head before buffering it (app/server.py); the check here holds the
same limits under any server.

`early_answer` is how any of these layers answers (also app/server.py's draining 503): the API
and /healthz in the error shape, pages as a short page a person can read."""

from __future__ import annotations

import html
import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body
from app.http.answers import served

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
