"""`GET /export/aggregate` for analysts (a bearer token) and `GET /benchmarks` for everyone:
counts of stages by condition and group, small groups suppressed, never a single response."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response

from app.aggregates import (
    DATE_RULE,
    Aggregate,
    aggregate,
    as_csv,
    as_json,
    export_query,
    query_day,
)
from app.config import Settings
from app.deps import BenchmarksDep, QuizDep, ScorerDep, SessionDep, SettingsDep
from app.errors import ExportDisabled, InvalidRequest, Unauthorized

router = APIRouter(tags=["export"])


def check_token(settings: Settings, authorization: str | None) -> None:
    """Bearer EXPORT_TOKEN, compared in constant time; no token configured: export is off."""
    if not settings.export_token:
        raise ExportDisabled("The aggregate export is off: no EXPORT_TOKEN is configured.")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), settings.export_token.encode()
    ):
        error = Unauthorized("Send Authorization: Bearer <EXPORT_TOKEN>.")
        error.headers = {"WWW-Authenticate": "Bearer"}
        raise error


@router.get(
    "/export/aggregate",
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON (default) or CSV"},
        401: {"description": "Missing or wrong token"},
        422: {"description": "Bad parameters; details name each"},
        503: {"description": "Export is off (no EXPORT_TOKEN)"},
    },
)
def read_aggregate(
    session: SessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
    format: Literal["json", "csv"] = "json",
    group_by: Annotated[
        str | None, Query(description="comma-separated: state, role, partner, month")
    ] = None,
    since: Annotated[str | None, Query(description=f"inclusive: {DATE_RULE}")] = None,
    until: Annotated[str | None, Query(description=f"inclusive: {DATE_RULE}")] = None,
    state: str | None = None,
    partner: str | None = None,
    quiz_version: str | None = None,
) -> Response:
    """Counts by condition and stage, optionally by group; groups below MIN_GROUP_SIZE are
    suppressed (docs/privacy.md)."""
    check_token(settings, authorization)
    # Read as text and checked here: a date type took `0` as 1970-01-01 and any year at all.
    first, last = query_day("since", since), query_day("until", until)
    groups, filters = export_query(
        group_by, first, last, state=state, partner=partner, quiz_version=quiz_version
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


@router.get("/benchmarks")
def read_benchmarks(
    session: SessionDep,
    settings: SettingsDep,
    quiz: QuizDep,
    scorer: ScorerDep,
    peers: BenchmarksDep,
    state: str | None = None,
) -> JSONResponse:
    """Where respondents place their states on each condition (this quiz version), overall and
    for one state (a state code of the quiz; empty: none); groups below MIN_GROUP_SIZE are
    suppressed. Cacheable for a minute."""
    if state and state not in scorer.context_options["state"]:
        # Only known codes reach the cache, which would otherwise keep any string sent.
        raise InvalidRequest(
            "Unknown state code.",
            [{"field": "query.state", "code": "unknown_state", "message": "not a state code"}],
        )

    def dump(found: dict[str, Any]) -> dict[str, Any]:
        return {
            k: {"responses": v.responses, "suppressed": v.suppressed, "shares": v.shares}
            for k, v in found.items()
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
