"""Rendering pages: the Jinja environment, the base context, and the friendly error page.

Imports no route, so the error handlers (app/errors.py) and the pages can both use it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from app.http.answers import csp
from app.web.theme import Theme, parse_hide
from scoring import Scorer

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

ERROR_TITLES = {
    401: "You are not signed in for this",
    404: "Page not found",
    405: "That page does not accept this request",
    413: "That was too much to send",
    409: "That is not possible any more",
    422: "Something in the request was not right",
    429: "Too many requests",
    503: "Temporarily unavailable",
    500: "Something went wrong",
}


EXTERNAL = Markup(' target="_blank" rel="noopener"')
NEW_TAB = Markup('<span class="visually-hidden"> (opens in a new tab)</span>')


def is_embed(request: Request) -> bool:
    """`?embed=1`: the page is shown inside a partner's iframe, without the site's chrome."""
    return request.query_params.get("embed") == "1"


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    # Read here rather than through app.deps: error handlers render without dependencies.
    scorer: Scorer = request.app.state.scorer
    embed = is_embed(request)
    base: dict[str, Any] = {
        "framework": scorer.framework,
        "quiz": scorer.quiz,
        "embed": embed,
        "embed_theme": None,
        "compact": False,
        "hide": frozenset(),
        "external": "",
        "new_tab": "",
    }
    if embed:
        # The partner's options, parsed (app/web/theme.py): nothing here is echoed as sent.
        query = request.query_params
        base |= {
            "embed_theme": Theme.from_query(query),
            "compact": query.get("compact") == "1",
            "hide": parse_hide(query.get("hide")),
            # Links to other sites leave the frame: a site that forbids framing would show
            # a broken box, and the respondent's result would be gone.
            "external": EXTERNAL,
            "new_tab": NEW_TAB,
        }
    return TEMPLATES.TemplateResponse(request, template, base | context, status_code=status_code)


def render_error(
    request: Request,
    status_code: int,
    message: str,
    headers: dict[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
    framable: bool = False,
    reason: str | None = None,
) -> Response:
    """The friendly error page. A request that was not right (422) lists each field with what
    was wrong and links back to the page it came from, so "see details" always has details.

    `framable`: the page is shown inside whatever site framed it (an embed whose partner is
    unknown), its links open outside the frame, and it tells the host page through
    embed-frame.js."""
    title = ERROR_TITLES.get(status_code, "Something went wrong")
    context = {
        "status_code": status_code,
        "title": title,
        "message": message,
        # Only a form's own fields are listed (a 422); other errors say it all in the message,
        # and their details (`team: the team is closed`) are for the API's callers.
        "details": [_readable(d) for d in details or []] if status_code == 422 else [],
        "back": request.url.path if status_code == 422 else None,
        "unavailable_in_frame": framable,
        "unavailable_reason": reason or "unknown_partner",
        # Not checked against any partner (there is none): only an origin's shape, since the
        # page tells it nothing but that the quiz is unavailable.
        "parent_origin": _origin(request.query_params.get("parent_origin")) if framable else None,
    }
    response = render(request, "error.html", context, status_code)
    if framable:
        response.headers["content-security-policy"] = csp("*")
    response.headers.update(headers or {})
    return response


ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def _origin(value: str | None) -> str | None:
    return value if value and ORIGIN.match(value) else None


def _readable(detail: dict[str, Any]) -> dict[str, str]:
    """`query.since` → `since`: the name a visitor saw next to the field."""
    field = str(detail.get("field", "")).removeprefix("query.").removeprefix("body.")
    return {"field": field, "message": str(detail.get("message", ""))}
