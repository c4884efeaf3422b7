"""`/insights`: aggregate charts for analysts, behind the export token.

The token is entered once in a login form; the answer is a signed session cookie (Secure,
HttpOnly, SameSite=Strict, eight hours) derived from the token itself, so changing EXPORT_TOKEN
ends every session. The login form carries a double-submit CSRF token; logout is a POST with a
token bound to the session. Charts are SVG drawn here, on the server: bars with their numbers
written beside them (readable without colour and without JavaScript), each with a data table.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.aggregates import Aggregate, Filters, aggregate, export_query, stage_counts
from app.api.routes.export import csv_response
from app.config import Settings
from app.deps import FrameworkDep, QuizDep, SessionDep, SettingsDep
from app.errors import ExportDisabled, Unauthorized
from app.web.templating import render

router = APIRouter(include_in_schema=False)

SESSION_COOKIE = "insights_session"
CSRF_COOKIE = "insights_csrf"
SESSION_SECONDS = 8 * 3600
STAGE_LABELS = {
    "0": "Not yet started",
    "1": "Exploration",
    "2": "Replication",
    "3": "Statewide Transformation",
    "unknown": "Not sure or unanswered",
}


def _sign(settings: Settings, message: str) -> str:
    key = (settings.export_token or "").encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _session_value(settings: Settings, issued: int) -> str:
    return f"{issued}.{_sign(settings, f'insights-session.{issued}')}"


def _valid_session(settings: Settings, value: str | None) -> bool:
    if not settings.export_token or not value or "." not in value:
        return False
    issued, _, _ = value.partition(".")
    if not issued.isdigit() or time.time() - int(issued) > SESSION_SECONDS:
        return False
    return hmac.compare_digest(value, _session_value(settings, int(issued)))


def _logout_token(settings: Settings, session: str) -> str:
    return _sign(settings, f"logout.{session}")


def _require_session(request: Request, settings: Settings) -> str:
    if not settings.export_token:
        raise ExportDisabled("Insights are off: no EXPORT_TOKEN is configured.")
    value = request.cookies.get(SESSION_COOKIE)
    if not _valid_session(settings, value):
        raise Unauthorized("Sign in with the export token to see insights.")
    assert value is not None
    return value


def _login_page(request: Request, error: str | None, status_code: int = 200) -> Response:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(16)
    page = render(request, "insights_login.html", {"error": error, "csrf": csrf}, status_code)
    page.set_cookie(
        CSRF_COOKIE, csrf, httponly=True, secure=True, samesite="strict", path="/insights"
    )
    return page


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # 0..1
    text: str


def chart(title: str, bars: list[Bar], width: int = 640) -> dict[str, Any]:
    """Geometry for a horizontal bar chart; the template draws it as inline SVG."""
    row, label_w, text_w = 22, 250, 150
    plot = width - label_w - text_w
    return {
        "title": title,
        "width": width,
        "height": row * len(bars) + 8,
        "rows": [
            {
                "y": 4 + i * row,
                "label": b.label,
                "w": max(1, round(b.value * plot)),
                "x": label_w,
                "text": b.text,
                "tx": label_w + max(1, round(b.value * plot)) + 6,
            }
            for i, b in enumerate(bars)
        ],
    }


def _charts(agg: Aggregate, names: dict[str, str]) -> dict[str, Any]:
    if not agg.groups:  # without group_by there is one group at most
        return {"responses": 0, "suppressed": False, "empty": True}
    group = agg.groups[0]
    if agg.suppressed(group):
        return {"responses": None, "suppressed": True, "empty": False}
    n = group.responses
    stages = []
    for slug in names:
        counts = group.conditions.get(slug)
        if counts is None:
            continue
        bars = [
            Bar(STAGE_LABELS[stage], n_at / n, f"{n_at} ({n_at / n:.0%})")
            for stage, n_at in stage_counts(counts).items()
        ]
        stages.append(
            {"slug": slug, "name": names[slug], "chart": chart(names[slug], bars), "counts": bars}
        )
    firsts = sorted(
        (
            (names.get(slug, slug), counts["ranked_first"], counts["top_three"])
            for slug, counts in group.conditions.items()
        ),
        key=lambda t: (-t[1], -t[2], t[0]),
    )
    begin = chart(
        "Ranked first",
        [Bar(name, first / n, f"{first} ({first / n:.0%})") for name, first, _ in firsts],
    )
    return {
        "responses": n,
        "suppressed": False,
        "empty": False,
        "stages": stages,
        "begin": begin,
        "firsts": firsts,
    }


def _filters(
    state: str | None,
    role: str | None,
    partner: str | None,
    since: date | None,
    until: date | None,
    quiz_version: str,
) -> Filters:
    """The export's own checks (dates in order), with empty form fields meaning "all"."""
    _, filters = export_query(
        None,
        since,
        until,
        state=state or None,
        partner=partner or None,
        quiz_version=quiz_version,
        role=role or None,
    )
    return filters


@router.get("/insights", response_class=HTMLResponse)
def read_insights(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    framework: FrameworkDep,
    quiz: QuizDep,
    state: Annotated[str | None, Query()] = None,
    role: Annotated[str | None, Query()] = None,
    partner: Annotated[str | None, Query()] = None,
    since: date | None = None,
    until: date | None = None,
) -> Response:
    """Charts of where respondents place their states and what they are told to begin with."""
    if not settings.export_token:
        raise ExportDisabled("Insights are off: no EXPORT_TOKEN is configured.")
    value = request.cookies.get(SESSION_COOKIE)
    if not _valid_session(settings, value):
        return _login_page(request, None)
    assert value is not None
    filters = _filters(state, role, partner, since, until, quiz.version)
    agg = aggregate(session, filters, [], settings.min_group_size)
    names = {c.slug: c.name for c in framework.conditions}
    query = {
        k: v
        for k, v in {
            "state": state,
            "role": role,
            "partner": partner,
            "since": since,
            "until": until,
        }.items()
        if v
    }
    page = render(
        request,
        "insights.html",
        {
            "data": _charts(agg, names),
            "filters": query,
            "csv_url": "/insights/export.csv" + ("?" + urlencode(query) if query else ""),
            "logout_token": _logout_token(settings, value),
            "min_group_size": settings.min_group_size,
            "quiz_version": quiz.version,
        },
    )
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post("/insights/login", response_class=HTMLResponse)
def login(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Check the token once; answer with the session cookie."""
    if not settings.export_token:
        raise ExportDisabled("Insights are off: no EXPORT_TOKEN is configured.")
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not hmac.compare_digest(cookie, csrf):
        return _login_page(request, "The form expired. Please try again.", 400)
    if not hmac.compare_digest(token.encode(), settings.export_token.encode()):
        return _login_page(request, "That token is not right.", 401)
    response = RedirectResponse("/insights", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        _session_value(settings, int(time.time())),
        max_age=SESSION_SECONDS,
        httponly=True,
        secure=True,
        samesite="strict",
        path="/insights",
    )
    return response


@router.post("/insights/logout", response_class=HTMLResponse)
def logout(
    request: Request, settings: SettingsDep, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    value = _require_session(request, settings)
    if not hmac.compare_digest(csrf, _logout_token(settings, value)):
        raise Unauthorized("The form expired. Please try again.")
    response = RedirectResponse("/insights", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/insights", secure=True, httponly=True, samesite="strict"
    )
    return response


@router.get("/insights/export.csv")
def export_csv(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    quiz: QuizDep,
    state: str | None = None,
    role: str | None = None,
    partner: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Response:
    """What the insights page shows, as the export's CSV."""
    _require_session(request, settings)
    agg = aggregate(
        session,
        _filters(state, role, partner, since, until, quiz.version),
        [],
        settings.min_group_size,
    )
    return csv_response(agg, "insights.csv", {"Cache-Control": "no-store"})
