"""Server-rendered pages. They call the same functions as the JSON API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

router = APIRouter(include_in_schema=False)

ERROR_TITLES = {
    404: "Page not found",
    413: "That was too much to send",
    422: "Something in the request was not right",
    429: "Too many requests",
    500: "Something went wrong",
}


def render_error(request: Request, status_code: int, message: str) -> Response:
    return TEMPLATES.TemplateResponse(
        request,
        "error.html",
        {
            "status_code": status_code,
            "title": ERROR_TITLES.get(status_code, "Something went wrong"),
            "message": message,
        },
        status_code=status_code,
    )


@router.get("/", response_class=HTMLResponse)
def read_home(request: Request) -> Response:
    """What the quiz is for, and a start button."""
    state = request.app.state
    return TEMPLATES.TemplateResponse(
        request, "home.html", {"framework": state.framework, "quiz": state.quiz}
    )
