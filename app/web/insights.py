"""`/insights`: aggregate charts for analysts, behind the export token.

The token is entered once in a login form, throttled per address like the export's bearer
token; the answer is a session cookie (Secure, HttpOnly, SameSite=Strict, eight hours) signed
with the token itself, so changing EXPORT_TOKEN ends every session, and kept in the database,
so logout ends it for every copy of the cookie (app/analytics/analysts.py). The login form carries a
double-submit CSRF token; logout is a POST with a token bound to the session. Charts are SVG
drawn here, on the server: bars with their numbers written beside them (readable without colour
and without JavaScript), each with a data table.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.analytics.aggregates import (
    EARLIEST,
    LATEST,
    Aggregate,
    Filters,
    aggregate,
    export_query,
    parse_day,
    stage_counts,
)
from app.analytics.analysts import (
    SESSION_SECONDS,
    end_session,
    session_is_live,
    start_session,
    token_is_right,
)
from app.analytics.compare import COMPARE_BY, compare
from app.analytics.exports import Names, check_partner, filename, known_partners, long_csv
from app.api.routes.export import csv_text
from app.config import Settings
from app.deps import EngineDep, FrameworkDep, QuizDep, SessionDep, SettingsDep, client_address
from app.errors import ExportDisabled, InvalidRequest, RateLimited, Unauthorized
from app.web.charts import Bar, bar_chart, heatmap
from app.web.templating import render
from scoring import SCORING_VERSION

router = APIRouter(include_in_schema=False)

SESSION_COOKIE = "insights_session"
CSRF_COOKIE = "insights_csrf"
STAGE_LABELS = {
    "0": "Not yet started",
    "1": "Exploration",
    "2": "Replication",
    "3": "Statewide Transformation",
    "unknown": "Not sure or unanswered",
}


def _logout_token(settings: Settings, cookie: str) -> str:
    key = (settings.export_token or "").encode()
    return hmac.new(key, f"logout.{cookie}".encode(), hashlib.sha256).hexdigest()


def _require_session(request: Request, session: Session, settings: Settings) -> str:
    if not settings.export_token:
        raise ExportDisabled("Insights are off: no EXPORT_TOKEN is configured.")
    value = request.cookies.get(SESSION_COOKIE)
    if not session_is_live(session, settings, value):
        raise Unauthorized("Sign in with the export token to see insights.")
    assert value is not None
    return value


def _login_page(
    request: Request,
    error: str | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(16)
    page = render(request, "insights_login.html", {"error": error, "csrf": csrf}, status_code)
    page.headers.update(headers or {})
    page.set_cookie(
        CSRF_COOKIE, csrf, httponly=True, secure=True, samesite="strict", path="/insights"
    )
    return page


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
            {
                "slug": slug,
                "name": names[slug],
                "chart": bar_chart(names[slug], bars),
                "counts": bars,
            }
        )
    firsts = sorted(
        (
            (names.get(slug, slug), counts["ranked_first"], counts["top_three"])
            for slug, counts in group.conditions.items()
        ),
        key=lambda t: (-t[1], -t[2], t[0]),
    )
    begin = bar_chart(
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


COMPARISONS = {
    "state": "States side by side",
    "role": "Roles side by side",
    "month": "By month of release",
}


def _comparisons(
    session: Session, filters: Filters, settings: Settings, names: Names, quiz: Any
) -> list[dict[str, Any]]:
    """States, roles and months side by side (app/analytics/compare.py), with the same filters
    and suppression as the charts above them; a heatmap and a table each."""
    found = []
    for by in COMPARE_BY:
        labels = {o.id: o.label for q in quiz.context_questions if q.id == by for o in q.options}
        comparison = compare(session, filters, by, settings.min_group_size, names, labels)
        if not comparison.columns:
            continue
        title = COMPARISONS[by]
        item: dict[str, Any] = {"by": by, "title": title, "comparison": comparison}
        item["heatmap"] = heatmap(f"{title}: percentage at stage 2 or beyond", comparison)
        if by == "month":
            most = max(c.responses or 0 for c in comparison.columns) or 1
            item["volume"] = bar_chart(
                "Responses released by month",
                [
                    Bar(c.label, (c.responses or 0) / most, str(c.responses or "too few"))
                    for c in comparison.columns
                ],
            )
        found.append(item)
    return found


# The export's range of dates (app/analytics/aggregates.py DATE_PATTERN), named in the form's messages.
FIELD_IDS = {"since": "f-since", "until": "f-until", "partner": "f-partner"}
FIELD_NAMES = {"since": "From", "until": "To", "partner": "Partner"}


@dataclass(frozen=True)
class FilterForm:
    """The filter form as typed: every field a string, empty meaning "not set"."""

    state: str = ""
    role: str = ""
    partner: str = ""
    since: str = ""
    until: str = ""

    def query(self) -> dict[str, str]:
        """The fields that are set, for links that keep these filters."""
        return {k: v for k, v in vars(self).items() if v}

    def errors(self) -> dict[str, str]:
        """A message per field that is not right, keyed by field name."""
        errors = {}
        for name in ("since", "until"):
            if (value := getattr(self, name)) and _parse_date(value) is None:
                errors[name] = (
                    f"Enter a date between {EARLIEST:%-d %B %Y} and {LATEST:%-d %B %Y}, "
                    "as YYYY-MM-DD, or leave it empty."
                )
        since, until = _parse_date(self.since), _parse_date(self.until)
        if not errors and since and until and until < since:
            errors["until"] = "The end date is before the start date."
        return errors

    def filters(self, quiz_version: str) -> Filters:
        """The export's filters; call only when `errors()` is empty."""
        _, filters = export_query(
            None,
            _parse_date(self.since),
            _parse_date(self.until),
            state=self.state or None,
            partner=self.partner or None,
            quiz_version=quiz_version,
            role=self.role or None,
        )
        return filters


def _parse_date(value: str) -> date | None:
    return parse_day(value)


def _filter_form(
    state: str | None, role: str | None, partner: str | None, since: str | None, until: str | None
) -> FilterForm:
    return FilterForm(*(v or "" for v in (state, role, partner, since, until)))


# The filter fields as query parameters: all plain strings, so an empty field (what the form
# sends when nothing is chosen) is "not set" rather than a validation error.
FilterParam = Annotated[str | None, Query(max_length=64)]


@router.get("/insights", response_class=HTMLResponse)
def read_insights(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    framework: FrameworkDep,
    quiz: QuizDep,
    state: FilterParam = None,
    role: FilterParam = None,
    partner: FilterParam = None,
    since: FilterParam = None,
    until: FilterParam = None,
) -> Response:
    """Charts of where respondents place their states and what they are told to begin with.
    A filter that is not right is named next to its field, with the form kept as typed."""
    if not settings.export_token:
        raise ExportDisabled("Insights are off: no EXPORT_TOKEN is configured.")
    value = request.cookies.get(SESSION_COOKIE)
    if not session_is_live(session, settings, value):
        return _login_page(request, None)
    assert value is not None
    form = _filter_form(state, role, partner, since, until)
    errors = form.errors()
    partners = known_partners(session)
    if form.partner and form.partner not in partners:
        errors["partner"] = "Choose a partner from the list."
    data: dict[str, Any] = {}
    if not errors:
        filters = form.filters(quiz.version)
        agg = aggregate(session, filters, [], settings.min_group_size)
        data = _charts(agg, {c.slug: c.name for c in framework.conditions})
        if not data.get("suppressed") and not data.get("empty"):
            names = Names.of(framework)
            data["comparisons"] = _comparisons(session, filters, settings, names, quiz)
    query = form.query()
    page = render(
        request,
        "insights.html",
        {
            "data": data,
            "filters": form,
            "errors": errors,
            "field_ids": FIELD_IDS,
            "field_names": FIELD_NAMES,
            "partners": partners,
            "csv_url": "/insights/export.csv" + ("?" + urlencode(query) if query else ""),
            "compare_csv": {
                by: "/insights/export.csv?" + urlencode({**query, "group_by": by})
                for by in COMPARE_BY
            },
            "logout_token": _logout_token(settings, value),
            "min_group_size": settings.min_group_size,
            "quiz_version": quiz.version,
        },
        422 if errors else 200,
    )
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post("/insights/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Check the token once (throttled per address, app/analytics/analysts.py); answer with the cookie of
    a new session."""
    if not settings.export_token:
        raise ExportDisabled("Insights are off: no EXPORT_TOKEN is configured.")
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not hmac.compare_digest(cookie, csrf):
        return _login_page(request, "The form expired. Please try again.", 400)
    try:
        right = bool(token) and token_is_right(engine, settings, client_address(request), token)
    except RateLimited as exc:
        return _login_page(request, exc.message, exc.status_code, exc.headers)
    if not right:
        return _login_page(request, "That token is not right.", 401)
    response = RedirectResponse("/insights", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        start_session(session, settings),
        max_age=SESSION_SECONDS,
        httponly=True,
        secure=True,
        samesite="strict",
        path="/insights",
    )
    return response


@router.post("/insights/logout", response_class=HTMLResponse)
def logout(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """End the session on the server, so no copy of its cookie opens anything any more."""
    value = _require_session(request, session, settings)
    if not hmac.compare_digest(csrf, _logout_token(settings, value)):
        raise Unauthorized("The form expired. Please try again.")
    end_session(session, settings, value)
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
    framework: FrameworkDep,
    group_by: Annotated[Literal["", "state", "role", "month"] | None, Query()] = None,
    state: FilterParam = None,
    role: FilterParam = None,
    partner: FilterParam = None,
    since: FilterParam = None,
    until: FilterParam = None,
) -> Response:
    """What the insights page shows, as the export's CSV in its long layout (names, percents,
    each measure once, the provenance in every row), named by its filters and time; with
    `group_by` (one of state, role, month), the figures behind a comparison."""
    _require_session(request, session, settings)
    form = _filter_form(state, role, partner, since, until)
    if errors := form.errors():
        raise InvalidRequest(
            "A filter is not right: " + "; ".join(f"{k}: {v}" for k, v in errors.items()),
            [{"field": f"query.{k}", "code": "invalid", "message": v} for k, v in errors.items()],
        )
    check_partner(session, form.partner or None)
    groups, _ = export_query(group_by or None, None, None)
    filters = form.filters(quiz.version)
    agg = aggregate(session, filters, groups, settings.min_group_size)
    now = datetime.now(UTC)
    body = long_csv(agg, Names.of(framework), SCORING_VERSION, now)
    name = filename("insights", filters, list(groups), now, "csv")
    return csv_text(body, name, {"Cache-Control": "no-store"})
