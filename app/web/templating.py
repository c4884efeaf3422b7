"""Rendering pages: the Jinja environment, the base context, and the friendly error page.

Imports no route, so the error handlers (app/errors.py) and the pages can both use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from scoring import Scorer

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

ERROR_TITLES = {
    401: "You are not signed in for this",
    404: "Page not found",
    405: "That page does not accept this request",
    413: "That was too much to send",
    422: "Something in the request was not right",
    429: "Too many requests",
    503: "Temporarily unavailable",
    500: "Something went wrong",
}


def is_embed(request: Request) -> bool:
    """`?embed=1`: the page is shown inside a partner's iframe, without the site's chrome."""
    return request.query_params.get("embed") == "1"


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    # Read here rather than through app.deps: error handlers render without dependencies.
    scorer: Scorer = request.app.state.scorer
    base = {"framework": scorer.framework, "quiz": scorer.quiz, "embed": is_embed(request)}
    return TEMPLATES.TemplateResponse(request, template, base | context, status_code=status_code)


def render_error(
    request: Request, status_code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    title = ERROR_TITLES.get(status_code, "Something went wrong")
    context = {"status_code": status_code, "title": title, "message": message}
    response = render(request, "error.html", context, status_code)
    response.headers.update(headers or {})
    return response
