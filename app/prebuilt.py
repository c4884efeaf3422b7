"""The most requested answers, served before routing: the same bytes for everyone.

`GET /api/v1/quiz`, `GET /api/v1/framework` and the `/quiz` page without a query are built once
per process. Sent through FastAPI, matching some forty routes and solving each route's
dependencies and parameters cost more than answering (about 40% of the page's time), so this
ASGI layer answers them itself. It sits inside the CORS, compression, HEAD, security-header and
access-log layers, so those apply as to any route. The routes stay: they document the answers
in OpenAPI and take every request this layer passes on (a query string, another method, a page
not built yet).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Built:
    status: int
    headers: Headers
    body: bytes


# What answers one path: a built answer, or None to let the router answer.
Answer = Callable[[Scope], Built | None]


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value)
    return None


@dataclass(frozen=True)
class TokenPage:
    """A page rendered once with a placeholder where its form token goes; every answer gets a
    fresh token (a shared one would let one visitor's retry replay another's response)."""

    parts: tuple[bytes, ...]

    @classmethod
    def of(cls, rendered: bytes, slot: str) -> TokenPage:
        parts = tuple(rendered.split(slot.encode()))
        if len(parts) < 2:
            raise ValueError(f"the page has no {slot!r} to put its form token in")
        return cls(parts)

    def body(self) -> bytes:
        return secrets.token_urlsafe(16).encode().join(self.parts)

    def built(self) -> Built:
        body = self.body()
        return Built(200, [*HTML, (b"content-length", str(len(body)).encode())], body)


HTML = [(b"content-type", b"text/html; charset=utf-8")]


class Prebuilt:
    def __init__(self, app: ASGIApp, answers: Mapping[str, Answer]):
        self.app = app
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            answer = self.answers.get(scope["path"])
            built = answer(scope) if answer is not None else None
            if built is not None:
                scope["endpoint"] = answer  # the access log names the path as a route's
                await send(
                    {
                        "type": "http.response.start",
                        "status": built.status,
                        "headers": built.headers,
                    }
                )
                await send({"type": "http.response.body", "body": built.body})
                return
        await self.app(scope, receive, send)
