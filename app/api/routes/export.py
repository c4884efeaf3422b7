"""`GET /export/aggregate` for analysts (a bearer token) and `GET /benchmarks` for everyone:
counts of stages by condition and group, from released batches (app/analytics/aggregates.py), small groups
suppressed with their size, never a single response."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine

from app.analytics.aggregates import (
    DATE_RULE,
    SUPPRESSED,
    Aggregate,
    Benchmark,
    aggregate,
    as_csv,
    as_json,
    export_query,
    query_day,
)
from app.analytics.analysts import token_is_right
from app.config import Settings
from app.deps import (
    BenchmarksDep,
    EngineDep,
    FrameworkDep,
    QuizDep,
    ScorerDep,
    SessionDep,
    SettingsDep,
    client_address,
)
from app.errors import ExportDisabled, InvalidRequest, Unauthorized
from app.http.middleware import public
from app.http.openapi import statuses

router = APIRouter(tags=["export"])


def check_token(
    engine: Engine, settings: Settings, authorization: str | None, address: str
) -> None:
    """Bearer EXPORT_TOKEN, compared in constant time and throttled per address (429 after too
    many wrong ones, app/analytics/analysts.py); no token configured: export is off. A request with no
    bearer token guesses nothing, so it is told what to send without being counted."""
    if not settings.export_token:
        raise ExportDisabled("The aggregate export is off: no EXPORT_TOKEN is configured.")
    scheme, _, given = (authorization or "").partition(" ")
    given = given.strip()
    if (
        scheme.lower() != "bearer"
        or not given
        or not token_is_right(engine, settings, address, given)
    ):
        error = Unauthorized("Send Authorization: Bearer <EXPORT_TOKEN>.")
        error.headers = {"WWW-Authenticate": "Bearer"}
        raise error


@router.get(
    "/export/aggregate",
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON (default) or CSV"},
        **statuses(401, 422, 429, 503),
    },
)
def read_aggregate(
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
    format: Literal["json", "csv"] = "json",
    group_by: Annotated[
        str | None,
        Query(description="comma-separated: state, role, partner, attribution, month"),
    ] = None,
    since: Annotated[str | None, Query(description=f"inclusive: {DATE_RULE}")] = None,
    until: Annotated[str | None, Query(description=f"inclusive: {DATE_RULE}")] = None,
    state: str | None = None,
    partner: str | None = None,
    quiz_version: str | None = None,
) -> Response:
    """Counts by condition and stage, optionally by group, of responses released in batches of
    MIN_GROUP_SIZE (dates are release dates); groups below MIN_GROUP_SIZE are suppressed
    (docs/privacy.md)."""
    check_token(engine, settings, authorization, client_address(request))
    # Read as text and checked here: a date type took `0` as 1970-01-01 and any year at all.
    first, last = query_day("since", since), query_day("until", until)
    groups, filters = export_query(
        group_by,
        first,
        last,
        reversed_is_empty=True,
        state=state,
        partner=partner,
        quiz_version=quiz_version,
    )
    agg = aggregate(session, filters, groups, settings.min_group_size)
    now = datetime.now(UTC)
    if format == "csv":
        return csv_response(agg, f"aggregate-{now:%Y%m%d-%H%M%S}.csv")
    return JSONResponse(as_json(agg, now))


def csv_response(agg: Aggregate, filename: str, headers: dict[str, str] | None = None) -> Response:
    """The aggregate as an RFC 4180 download."""
    return Response(
        as_csv(agg),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})},
    )


@router.get("/benchmarks", responses=statuses(422, 503))
@public
def read_benchmarks(
    session: SessionDep,
    settings: SettingsDep,
    quiz: QuizDep,
    framework: FrameworkDep,
    scorer: ScorerDep,
    peers: BenchmarksDep,
    state: str | None = None,
) -> JSONResponse:
    """Where respondents place their states on each condition (this quiz version), overall and
    for one state (a state code of the quiz; empty: none), from responses released in batches
    of MIN_GROUP_SIZE; a group below it is suppressed, with `responses` null. Cacheable for a
    minute."""
    if state and state not in scorer.context_options["state"]:
        # Only known codes reach the cache, which would otherwise keep any string sent.
        raise InvalidRequest(
            "Unknown state code.",
            [{"field": "query.state", "code": "unknown_state", "message": "not a state code"}],
        )

    def dump(found: dict[str, Benchmark]) -> dict[str, Any]:
        # Every condition, so a group with no released responses reads like any small group.
        return {
            slug: {"responses": v.responses, "suppressed": v.suppressed, "shares": v.shares}
            for slug in [c.slug for c in framework.conditions]
            for v in [found.get(slug, SUPPRESSED)]
        }

    body = {
        "quiz_version": quiz.version,
        "min_group_size": settings.min_group_size,
        "overall": dump(peers.get(session, quiz.version, settings.min_group_size)),
        "state": state,
        "for_state": dump(peers.get(session, quiz.version, settings.min_group_size, state))
        if state
        else None,
    }
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=60"})
