"""Answers built ahead of the request, and how each request was answered.

- `Built`, `cacheable`, `Tagged`: an answer with an ETag, and the 304 without a body when the client
  already has it (content, stored responses and result pages, which never change or change
  slowly).
- `TokenPage`: a page rendered once, split where its form token goes, so each answer gets a
  fresh token without rendering again.
- `served`: how a request was answered, which the access log writes as `served=...`
  (app/http/middleware.py): `route` when the route built the answer, `cache` when the route
  answered from what it kept, `kept` when the layer before routing answered from what the
  route kept (app/http/kept.py), or `layer` when another middleware answered before routing (a
  body too large, the drain before shutdown, a CORS preflight).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from starlette.responses import Response
from starlette.types import Scope

Headers = list[tuple[bytes, bytes]]
Served = Literal["route", "cache", "kept", "layer"]
SERVED = "app.served"  # the scope key


def served(scope: Scope, how: Served) -> None:
    scope[SERVED] = how


def served_as(scope: Scope) -> str:
    """How the request was answered; `none` when no route matched and no layer answered."""
    default = "route" if scope.get("route") or scope.get("endpoint") else "none"
    return str(scope.get(SERVED, default))


@dataclass(frozen=True)
class Built:
    status: int
    headers: Headers
    body: bytes

    def response(self) -> Response:
        response = Response(self.body, status_code=self.status)
        response.raw_headers = list(self.headers)
        return response


@dataclass(frozen=True)
class Tagged:
    """Bytes built once and never changed (a content document, a rendered result page), and
    their ETag: a hash of them, computed once."""

    body: bytes
    etag: bytes

    @classmethod
    def of(cls, body: bytes) -> Tagged:
        return cls(body, ('"' + hashlib.sha256(body).hexdigest()[:20] + '"').encode())

    def built(self, scope: Scope, content_type: tuple[bytes, bytes], cache_control: bytes) -> Built:
        """The answer, or a 304 when the request's If-None-Match names it."""
        if_none_match = header(scope, b"if-none-match")
        return cacheable(self.body, content_type, self.etag, cache_control, if_none_match)


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


# A page that carries a secret (a draft's, plan's or team's token, someone's answers): never
# kept by a cache, and its address (which may hold the token) never sent as a referrer.
PRIVATE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}

HTML = (b"content-type", b"text/html; charset=utf-8")
JSON = (b"content-type", b"application/json")


def route_pattern(scope: Scope) -> str:
    """The path with each path parameter named instead of given: `/results/{response_id}`."""
    names = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    if not names:
        matched = scope.get("route") or scope.get("endpoint")
        return str(scope["path"]) if matched else "(no route)"
    return "/".join("{" + names[s] + "}" if s in names else s for s in scope["path"].split("/"))


# No inline scripts or styles anywhere: every script and stylesheet is a file under /static.
def csp(frame_ancestors: str = "'self'") -> str:
    """The pages' policy; only embed pages of a registered partner widen `frame-ancestors`."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        f"object-src 'none'; frame-ancestors {frame_ancestors}"
    )


CSP = csp()
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]
