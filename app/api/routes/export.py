"""`GET /export/aggregate` for analysts (a bearer token) and `GET /benchmarks` for everyone:
counts of stages by condition and group, from released batches (app/analytics/aggregates.py), small groups
suppressed with their size, never a single response."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
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
    suppression_rule,
)
from app.analytics.analysts import token_is_right
from app.analytics.compare import SUMMARY, CompareBy, Comparison, compare
from app.analytics.exports import (
    Layout,
    Names,
    check_partner,
    filename,
    long_csv,
    long_json,
)
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
from scoring import SCORING_VERSION

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


EXPORT_STATUSES = statuses(401, 422, 429, 503)
DateParam = Annotated[str | None, Query(description=f"inclusive: {DATE_RULE}")]
PartnerParam = Annotated[
    str | None,
    Query(description="a registered partner's slug (422 for any other); empty: no partner"),
]
RefParam = Annotated[
    str | None,
    Query(
        description="a partner's widget tag (`data-ref`), only with `partner`; empty: that "
        "partner's untagged responses"
    ),
]


@router.get(
    "/export/aggregate",
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON (default) or CSV"},
        **EXPORT_STATUSES,
    },
)
def read_aggregate(
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    framework: FrameworkDep,
    authorization: Annotated[str | None, Header()] = None,
    format: Literal["json", "csv"] = "json",
    layout: Annotated[
        Layout,
        Query(
            description="`rows` (default): a row per condition and stage with `share` as a "
            "fraction and the per-condition measures on every stage row, as it always was. "
            "`long`: names beside codes, `percent` (0-100), a `measure` column (`stage`, "
            "`ranked_first`, `top_three`) so each per-condition measure is one row, and, in "
            "CSV, the versions, filters, release size and time in trailing columns."
        ),
    ] = "rows",
    group_by: Annotated[
        str | None,
        Query(
            description="comma-separated: state, role, partner, attribution, ref, month "
            "(`ref` only with `partner`)"
        ),
    ] = None,
    since: DateParam = None,
    until: DateParam = None,
    state: str | None = None,
    partner: PartnerParam = None,
    quiz_version: str | None = None,
    ref: RefParam = None,
) -> Response:
    """Counts by condition and stage, optionally by group, of responses released in batches of
    MIN_GROUP_SIZE (dates are release dates); groups below MIN_GROUP_SIZE are suppressed
    (docs/privacy.md). The file name (CSV) names the time, the filters and the groups."""
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
        ref=ref,
    )
    check_partner(session, partner)
    agg = aggregate(session, filters, groups, settings.min_group_size)
    now = datetime.now(UTC)
    name = filename("aggregate", filters, list(groups), now, format)
    if format == "csv":
        names = Names.of(framework)
        body = long_csv(agg, names, SCORING_VERSION, now) if layout == "long" else as_csv(agg)
        return csv_text(body, name)
    # Shown in a browser rather than saved; a "save as" takes the same name.
    inline = {"Content-Disposition": f'inline; filename="{name}"'}
    if layout == "long":
        return JSONResponse(
            long_json(agg, Names.of(framework), SCORING_VERSION, now), headers=inline
        )
    return JSONResponse(as_json(agg, now), headers=inline)


def csv_text(body: str, name: str, headers: dict[str, str] | None = None) -> Response:
    """A CSV download named `name`."""
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **(headers or {})},
    )


def csv_response(agg: Aggregate, filename: str, headers: dict[str, str] | None = None) -> Response:
    """The aggregate as an RFC 4180 download, in the contract's layout."""
    return csv_text(as_csv(agg), filename, headers)


# --- comparisons ---------------------------------------------------------------------------


class CompareCell(BaseModel):
    condition: str
    counts: dict[str, int] | None = Field(description="responses at each stage; null: suppressed")
    percent: dict[str, float] | None = Field(description="percent at each stage (0-100)")
    at_stage_2_plus: float | None = Field(description=SUMMARY)
    ranked_first: int | None
    top_three: int | None


class CompareColumn(BaseModel):
    value: str = Field(
        description="the state or role code, or the month (YYYY-MM); empty: not given"
    )
    label: str
    responses: int | None = Field(description="null when suppressed")
    suppressed: bool
    cells: list[CompareCell] = Field(description="one per condition, in `conditions` order")


class CompareCondition(BaseModel):
    slug: str
    name: str


class CompareMeta(BaseModel):
    generated_at: str
    by: CompareBy
    filters: dict[str, str | None]
    quiz_versions: list[str]
    scoring_version: str
    min_group_size: int
    suppression: str
    summary: str


class CompareBody(BaseModel):
    meta: CompareMeta
    conditions: list[CompareCondition]
    columns: list[CompareColumn]


def compare_body(comparison: Comparison, generated_at: datetime) -> CompareBody:
    return CompareBody(
        meta=CompareMeta(
            generated_at=generated_at.isoformat(),
            by=comparison.by,
            filters=comparison.filters.as_dict(),
            quiz_versions=comparison.quiz_versions,
            scoring_version=SCORING_VERSION,
            min_group_size=comparison.min_group_size,
            suppression=suppression_rule(comparison.min_group_size),
            summary=SUMMARY,
        ),
        conditions=[CompareCondition(slug=s, name=n) for s, n in comparison.conditions],
        columns=[
            CompareColumn(
                value=c.value,
                label=c.label,
                responses=c.responses,
                suppressed=c.suppressed,
                cells=[CompareCell(**vars(cell)) for cell in c.cells],
            )
            for c in comparison.columns
        ],
    )


@router.get("/export/compare", responses=EXPORT_STATUSES)
def read_comparison(
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    framework: FrameworkDep,
    quiz: QuizDep,
    by: CompareBy,
    authorization: Annotated[str | None, Header()] = None,
    since: DateParam = None,
    until: DateParam = None,
    state: str | None = None,
    role: str | None = None,
    partner: PartnerParam = None,
    quiz_version: Annotated[
        str | None, Query(description="default: the version the service asks now")
    ] = None,
    ref: RefParam = None,
) -> CompareBody:
    """States, roles or release months side by side, per condition: counts and percentages at
    each stage and the share at stage 2 or beyond, from released batches with the export's
    suppression (a column below MIN_GROUP_SIZE has every figure null)."""
    check_token(engine, settings, authorization, client_address(request))
    first, last = query_day("since", since), query_day("until", until)
    _, filters = export_query(
        None,
        first,
        last,
        reversed_is_empty=True,
        state=state,
        role=role,
        partner=partner,
        quiz_version=quiz_version or quiz.version,
        ref=ref,
    )
    check_partner(session, partner)
    labels = {o.id: o.label for q in quiz.context_questions for o in q.options if q.id == by}
    found = compare(session, filters, by, settings.min_group_size, Names.of(framework), labels)
    return compare_body(found, datetime.now(UTC))


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
