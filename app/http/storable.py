"""Text a database can store, checked once for every request before any route reads it.

PostgreSQL refuses a NUL character in text (a 500 it was, on benchmarks, team names, export and
insights filters: wherever a string reached a query), and neither database can encode half of
a UTF-16 surrogate pair as UTF-8 (JSON can carry one as `\\ud800`). Rather than each field
knowing this, `storable_text` runs as a dependency of every route (create_app): query
parameters (names too), form fields and every string and key of a JSON body (path parameters
are ids, matched against their pattern before any query: an id with a NUL is a 404);
the first one that has such a character is a 422 naming it, in the API's shape or as a page.
Queries, paths and forms are decoded with replacement characters, so only JSON brings a
surrogate; a NUL can come from anywhere.

The OpenAPI document says the same of every free string (app/http/openapi.py, NO_NUL_PATTERN).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException

from app.errors import InvalidRequest

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "contains a character that cannot be stored (NUL or half of a surrogate pair)"


def _problem(field: str) -> InvalidRequest:
    return InvalidRequest(
        "A value contains a character that cannot be stored; see details.",
        [{"field": field, "code": "invalid_character", "message": MESSAGE}],
    )


def _check_json(document: Any) -> None:
    """Every string and key of a parsed JSON body; a loop, not recursion, as JSON nests deep."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while pending:
        value, where = pending.pop()
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                raise _problem(".".join(where) or "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                if UNSTORABLE.search(key):
                    raise _problem(".".join([*where, key]))
                pending.append((item, (*where, key)))
        elif isinstance(value, list):
            pending.extend((item, (*where, str(n))) for n, item in enumerate(value))


async def storable_text(request: Request) -> None:
    for name, value in request.query_params.multi_items():
        if UNSTORABLE.search(name) or UNSTORABLE.search(value):
            raise _problem(f"query.{name}")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            # Kept by the request: the route reads the body again, or the form parsed here.
            await request.body()
        except RuntimeError:  # read already, as the form of a route's Form parameters
            pass
        try:
            form = await request.form()
        except HTTPException:
            return  # not a form that parses: the route says so (400, or the API's 415)
        for name, field in form.multi_items():
            if UNSTORABLE.search(name) or (isinstance(field, str) and UNSTORABLE.search(field)):
                raise _problem(name)
    elif request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()  # read already for a JSON route, kept by the request
        # A NUL can only come as an escape (raw control characters are not JSON); a surrogate
        # as an escape or raw, which the JSON parser lets through ("surrogatepass"), so only
        # bodies of plain ASCII with no escape, most of them, are not parsed a second time.
        if b"\\u" in body or not body.isascii():
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                return  # not JSON, or nested past reading: the route answers that (4xx)
            _check_json(parsed)
