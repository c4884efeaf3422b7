"""The most requested answers, served before routing from what is already built.

`GET /api/v1/quiz`, `GET /api/v1/framework` and the `/quiz` page are built once per process;
a stored response and its result page, once built by their route, are kept (they never change;
the page for a minute). Sent through FastAPI, matching some forty routes and solving each
route's dependencies and parameters cost more than answering (about 40% of a page's time), so
this ASGI layer answers these GETs itself when they carry no query string and the answer is at
hand. It sits inside the CORS, compression, HEAD, security-header and access-log layers, so
those apply as to any route. The routes stay: they build what is kept here, document the
answers in OpenAPI, and take every request this layer passes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Built:
    status: int
    headers: Headers
    body: bytes

    def response(self) -> Response:
        """The same answer through a route."""
        response = Response(self.body, status_code=self.status)
        response.raw_headers = list(self.headers)
        return response


# What answers one path: a built answer, or None to let the router answer.
Answer = Callable[[Scope], Built | None]


@dataclass(frozen=True)
class ByPrefix:
    """Paths of one route with one parameter, `{prefix}{value}` (no further `/`)."""

    prefix: str
    param: str  # the route's name for it: the access log shows `{param}`, never the value
    answer: Callable[[Scope, str], Built | None]


def with_length(headers: Headers, body: bytes) -> Headers:
    return [*headers, (b"content-length", str(len(body)).encode())]


def cacheable(
    body: bytes,
    content_type: tuple[bytes, bytes],
    etag: bytes,
    cache_control: bytes,
    if_none_match: bytes | None,
) -> Built:
    """An answer with an ETag: a 304 without the body when the client already has it."""
    headers = [(b"etag", etag), (b"cache-control", cache_control)]
    if if_none_match == etag:
        return Built(304, headers, b"")
    return Built(200, with_length([*headers, content_type], body), body)


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value)
    return None


@dataclass(frozen=True)
class TokenPage:
    """A page rendered once, split where its form token goes; every answer gets a fresh token
    from `issue` (the server's signed form tokens, app/tokens.py: a shared one would let one
    visitor's retry replay another's response)."""

    parts: tuple[bytes, ...]
    issue: Callable[[], str]

    @classmethod
    def of(cls, rendered: bytes, slot: str, issue: Callable[[], str]) -> TokenPage:
        parts = tuple(rendered.split(slot.encode()))
        if len(parts) < 2:
            raise ValueError(f"the page has no {slot!r} to put its form token in")
        return cls(parts, issue)

    def body(self) -> bytes:
        return self.issue().encode().join(self.parts)

    def built(self) -> Built:
        body = self.body()
        return Built(200, with_length([HTML], body), body)


HTML = (b"content-type", b"text/html; charset=utf-8")
JSON = (b"content-type", b"application/json")


class Prebuilt:
    def __init__(
        self, app: ASGIApp, answers: Mapping[str, Answer], by_prefix: Sequence[ByPrefix] = ()
    ):
        self.app = app
        self.answers = answers
        self.by_prefix = by_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            built = self._built(scope)
            if built is not None:
                start = {"type": "http.response.start", "status": built.status}
                await send({**start, "headers": built.headers})
                await send({"type": "http.response.body", "body": built.body})
                return
        await self.app(scope, receive, send)

    def _built(self, scope: Scope) -> Built | None:
        path: str = scope["path"]
        answer = self.answers.get(path)
        if answer is not None:
            built = answer(scope)
            if built is not None:
                scope["endpoint"] = answer  # the access log names the path as a route's
            return built
        for route in self.by_prefix:
            value = path[len(route.prefix) :]
            if path.startswith(route.prefix) and value and "/" not in value:
                built = route.answer(scope, value)
                if built is not None:
                    scope["endpoint"] = route.answer
                    scope["path_params"] = {route.param: value}
                return built
        return None
