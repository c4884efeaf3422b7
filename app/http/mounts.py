"""Every router of the app with the prefix it is served under, and the routes in them.

`create_app` includes each `Mount` once, at the app's root, in the order given (the order
routing tries them). The layers that act on routes marked by their endpoint (`@keeps`,
app/http/kept.py; `@public`, app/http/middleware.py) read the same mounts through `declared`,
so they see each route with its full path without walking FastAPI's routing: FastAPI builds a
route's dependencies again for every path it is reached by, and a walk of the app's routes made
it build all of them on the first request (about 30 ms of a worker's start; docs/performance.md,
"Cold start"). A router here holds its own routes only, never another router.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute


@dataclass(frozen=True)
class Mount:
    prefix: str  # "" or "/api/v1": where the router's paths start
    router: APIRouter


@dataclass(frozen=True)
class DeclaredRoute:
    path: str  # the full path, as the client asks for it
    endpoint: Callable[..., Any]


def declared(mounts: Sequence[Mount]) -> Iterator[DeclaredRoute]:
    """Every route of `mounts` with its full path, in routing order."""
    for mount in mounts:
        for route in mount.router.routes:
            if not isinstance(route, APIRoute):
                raise TypeError(
                    f"{mount.prefix or '/'}: a mounted router holds routes only, not {route!r}"
                )
            yield DeclaredRoute(mount.prefix + route.path, route.endpoint)
