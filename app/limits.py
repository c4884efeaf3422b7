"""Request body size limit as plain ASGI middleware, so oversized bodies never reach parsing."""

from __future__ import annotations

import html
import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body


class BodyTooLarge(HTTPException):
    """Raised while a streamed body is read; FastAPI passes HTTPExceptions through body parsing,
    so the app's error handlers answer it with a 413 in the usual shape."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"The request body is larger than {max_bytes // 1024} KiB.")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
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
        if scope["path"].startswith("/api"):
            body, kind = (
                json.dumps(error_body("payload_too_large", message)).encode(),
                b"application/json",
            )
        else:  # a form: a short page a person can read, not JSON
            body = TOO_LARGE_PAGE.format(message=html.escape(message)).encode()
            kind = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# Answered before the app runs, so without templates: plain, self-contained, no script.
TOO_LARGE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>That was too much to send · Where should your state begin?</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body><main id="main" class="wrap"><h1>That was too much to send</h1>
<p class="lead">{message} Please go back and shorten what you typed.</p>
<p><a class="button" href="/quiz">Take the quiz</a> <a href="/">Go to the start page</a></p>
</main></body></html>"""
