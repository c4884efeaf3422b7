"""Answers kept by their routes, and the one layer that answers them before routing.

A route whose answer is worth keeping declares a `Kept` next to it: the cache it keeps answers
in (a `CachePolicy`, app/cache.py), the one key function its answers are kept under, and how a
kept value becomes an answer. The route marks its endpoint with `@keeps(...)`, looks its answer
up first (`Kept.find`), and on a miss builds the value and keeps it (`Kept.keep`).

`KeptAnswers`, the innermost of our layers (app/http/middleware.py), looks up the same cache
with the same key for a `GET` without a query string, and answers from it without routing:
routing past some forty routes and solving a route's dependencies cost more than the answer
(three to six times the bare GET of `make bench`; docs/performance.md, "Kept answers"). It is
inside the CORS, compression, HEAD, drain, security-header and access-log layers, so they apply
as to any route, and the access log says `served=kept`. Only what a route has kept is answered
here; a miss, a query, any other method goes to the route. `ANSWER_KEPT_BEFORE_ROUTING=false`
turns the layer off (a breakpoint in a kept route is then hit on every request; the route still
answers from its cache).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.cache import CachePolicy, Caches
from app.http.answers import Built, served
from app.http.mounts import DeclaredRoute

V = TypeVar("V")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Kept(Generic[V]):
    """What one route keeps. `key` is given the request and the route's path parameter (`""`
    for a route without one); the layer calls it with a request that has no query string."""

    policy: CachePolicy
    key: Callable[[Request, str], Hashable]
    answer: Callable[[V, Request], Built]

    def find(self, request: Request, caches: Caches, value: str = "") -> Built | None:
        """The kept answer, or None when nothing is kept under this request's key."""
        found: V | None = caches.of(self.policy).get(self.key(request, value))
        if found is None:
            return None
        served(request.scope, "cache")
        return self.answer(found, request)

    def keep(self, request: Request, caches: Caches, value: str, kept: V) -> Built:
        """Keep what the route built, and answer with it."""
        caches.of(self.policy).put(self.key(request, value), kept)
        return self.answer(kept, request)


def keeps(kept: Kept[Any]) -> Callable[[F], F]:
    """Mark a route's endpoint as keeping its answers in `kept` (put it under the route's
    decorator): the layer reads the mark and the route's full path from the app's mounts."""

    def mark(endpoint: F) -> F:
        endpoint.kept = kept  # type: ignore[attr-defined]  # read by `kept_routes`
        return endpoint

    return mark


@dataclass(frozen=True)
class KeptRoute:
    path: str  # a fixed path, or the part before the route's one parameter
    param: str | None  # the parameter's name (the access log shows it, never the value)
    kept: Kept[Any]
    endpoint: Callable[..., Any]


def kept_routes(routes: Sequence[DeclaredRoute]) -> list[KeptRoute]:
    """The routes marked `@keeps`. A kept path is fixed or ends in its one parameter
    (`/results/{response_id}`): that is all the layer matches."""
    found = []
    for route in routes:
        kept = getattr(route.endpoint, "kept", None)
        if kept is None:
            continue
        head, brace, tail = route.path.partition("{")
        if brace and ("/" in tail or "{" in tail or not tail.endswith("}")):
            raise ValueError(f"{route.path}: a kept path may only end in one parameter")
        found.append(KeptRoute(head, tail[:-1] if brace else None, kept, route.endpoint))
    return found


class KeptAnswers:
    """Answers a `GET` without a query string from what its route kept (module docstring).
    `routes`: the app's (app/http/mounts.py); the caches are the app's (`app.state.caches`),
    read on each request."""

    def __init__(self, app: ASGIApp, routes: Sequence[DeclaredRoute]):
        self.app = app
        kept = kept_routes(routes)
        self._fixed = {r.path: r for r in kept if r.param is None}
        self._by_prefix = [r for r in kept if r.param is not None]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            built = self._kept(scope)
            if built is not None:
                start = {"type": "http.response.start", "status": built.status}
                await send({**start, "headers": built.headers})
                await send({"type": "http.response.body", "body": built.body})
                return
        await self.app(scope, receive, send)

    def _kept(self, scope: Scope) -> Built | None:
        path: str = scope["path"]
        route, value = self._route(path)
        if route is None:
            return None
        built = route.kept.find(Request(scope), scope["app"].state.caches, value)
        if built is not None:
            served(scope, "kept")
            scope["endpoint"] = route.endpoint  # the access log names the route's pattern
            if route.param is not None:
                scope["path_params"] = {route.param: value}
        return built

    def _route(self, path: str) -> tuple[KeptRoute | None, str]:
        fixed = self._fixed.get(path)
        if fixed is not None:
            return fixed, ""
        for route in self._by_prefix:
            if path.startswith(route.path):
                value = path[len(route.path) :]
                if value and "/" not in value:
                    return route, value
        return None, ""
