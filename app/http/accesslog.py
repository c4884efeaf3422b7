"""The access log, written by the app instead of uvicorn's, which names every client address
and full path (a result's id is the key to someone's answers).

One line per request: method, the route's pattern (`/results/{response_id}`, not the id),
status, milliseconds and how it was answered (`served=route`, `served=cache`, `served=layer`:
app/http/answers.py). ACCESS_LOG_DETAIL=true adds the client address and the full path, for
debugging on a machine where that is allowed.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.answers import served_as

log = logging.getLogger("app.access")


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
                log.info(
                    "%s %s %s %d %.1fms served=%s",
                    client[0],
                    scope["method"],
                    full,
                    status[0],
                    elapsed,
                    served_as(scope),
                )
            else:
                log.info(
                    "%s %s %d %.1fms served=%s",
                    scope["method"],
                    path,
                    status[0],
                    elapsed,
                    served_as(scope),
                )


def route_pattern(scope: Scope) -> str:
    """The path with each path parameter named instead of given: `/results/{response_id}`."""
    names = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    if not names:
        matched = scope.get("route") or scope.get("endpoint")
        return str(scope["path"]) if matched else "(no route)"
    return "/".join("{" + names[s] + "}" if s in names else s for s in scope["path"].split("/"))
