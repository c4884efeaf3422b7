"""`/drafts`: a quiz in progress kept at a private link (app/plans/drafts.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from app.deps import (
    LimiterDep,
    ScorerDep,
    SessionDep,
    SettingsDep,
    client_address,
    require_json,
)
from app.http.openapi import statuses
from app.plans.drafts import (
    DraftContent,
    DraftCreated,
    DraftPublic,
    checked,
    create_draft,
    load_draft,
    public,
    save_draft,
)
from app.responses.submissions import public_base

router = APIRouter(tags=["drafts"])

PRIVATE = {"Cache-Control": "private, no-store"}
UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"description": "No draft at that link (mistyped, or deleted after the retention time)"}
}


@router.post(
    "/drafts",
    status_code=201,
    response_model=DraftCreated,
    dependencies=[Depends(require_json)],
    responses=statuses(400, 404, 409, 413, 415, 422, 429, 503)
    | {
        404: {"description": "`team` names no team"},
        409: {"description": "`team` names a closed team"},
    },
)
def create(
    body: DraftContent,
    request: Request,
    response: Response,
    session: SessionDep,
    scorer: ScorerDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> DraftCreated:
    """Keep a quiz in progress. The answer's `token` (shown only here) and `url` are the
    private link: anyone with it can see and change these answers. Incomplete is fine; an
    unknown question, option, condition, state or role is a 422, as for a submission."""
    content = checked(scorer, body, session)
    limiter.hit(f"ip:{client_address(request)}", settings.rate_limit_per_minute)
    days = settings.draft_retention_days
    token = create_draft(session, content, days)
    response.headers.update(PRIVATE)
    answer = public(public_base(request, settings), token, load_draft(session, token, days), days)
    return DraftCreated(token=token, **answer)


@router.get("/drafts/{token}", response_model=DraftPublic, responses=statuses(404, 503) | UNKNOWN)
def read(
    token: str, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> DraftPublic:
    """The draft at a private link, as last saved."""
    days = settings.draft_retention_days
    response.headers.update(PRIVATE)
    loaded = load_draft(session, token, days)
    return DraftPublic(**public(public_base(request, settings), token, loaded, days))


@router.put(
    "/drafts/{token}",
    response_model=DraftPublic,
    dependencies=[Depends(require_json)],
    responses=statuses(400, 404, 409, 413, 415, 422, 503)
    | UNKNOWN
    | {409: {"description": "`team` names a closed team"}},
)
def replace(
    token: str,
    body: DraftContent,
    request: Request,
    response: Response,
    session: SessionDep,
    scorer: ScorerDep,
    settings: SettingsDep,
) -> DraftPublic:
    """Save the draft again with what the form holds now (the whole of it, not a change);
    its time to deletion starts again."""
    days = settings.draft_retention_days
    load_draft(session, token, days)  # an unknown link is a 404 before the body's checks
    content = checked(scorer, body, session)
    loaded = save_draft(session, token, content, days)
    response.headers.update(PRIVATE)
    return DraftPublic(**public(public_base(request, settings), token, loaded, days))
