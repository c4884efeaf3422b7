"""`/plans`: a plan made from a stored result, read and changed at its private link
(app/plans/plans.py). The token is the only key: it is shown once, at creation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from app.deps import (
    LimiterDep,
    ResultsDep,
    SessionDep,
    SettingsDep,
    client_address,
    require_json,
)
from app.http.openapi import statuses
from app.plans.plans import (
    PLAN_TOKEN_PATTERN,
    PlanCreate,
    PlanCreated,
    PlanPublic,
    PlanUpdate,
    TeamPlanCreate,
    create_plan,
    create_team_plan,
    plan_for_token,
    plan_view,
    update_plan,
)
from app.responses.submissions import public_base
from app.teams.service import get_team

router = APIRouter(tags=["plans"])
Token = Annotated[
    str,
    Path(description="The plan's token, from its creation", pattern=PLAN_TOKEN_PATTERN),
]


@router.post(
    "/plans",
    status_code=201,
    response_model=PlanCreated,
    dependencies=[Depends(require_json)],
    responses=statuses(400, 404, 413, 415, 422, 429, 503),
)
def create(
    body: PlanCreate,
    request: Request,
    session: SessionDep,
    results: ResultsDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> PlanCreated:
    """Make a plan from a stored result: up to three conditions (default: the result's "Begin
    here" list), a target stage for each (default: the next stage) and a time frame. The
    token (shown only here) is the plan's key: anyone with it can read and change the plan."""
    limiter.hit(f"ip:{client_address(request)}", settings.rate_limit_per_minute)
    token, plan = create_plan(session, results, body)
    return PlanCreated(
        token=token,
        plan_url=f"{public_base(request, settings)}/plans/{token}",
        plan=plan_view(session, results, plan, settings.team_min_members),
    )


@router.post(
    "/teams/{team_id}/plans",
    status_code=201,
    response_model=PlanCreated,
    dependencies=[Depends(require_json)],
    responses=statuses(400, 404, 409, 413, 415, 422, 429, 503),
)
def create_for_team(
    team_id: str,
    body: TeamPlanCreate,
    request: Request,
    session: SessionDep,
    results: ResultsDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> PlanCreated:
    """Make the team's plan from its picture (the team's stage per condition and its own "Begin
    here"), once the team page shows it. Milestones are the rungs above the team's stage; a
    team's plan has no check-ins (members answer again through a new team)."""
    limiter.hit(f"ip:{client_address(request)}", settings.rate_limit_per_minute)
    threshold = settings.team_min_members
    token, plan = create_team_plan(session, results, get_team(session, team_id), body, threshold)
    return PlanCreated(
        token=token,
        plan_url=f"{public_base(request, settings)}/plans/{token}",
        plan=plan_view(session, results, plan, threshold),
    )


@router.get("/plans/{token}", response_model=PlanPublic, responses=statuses(404, 422, 503))
def read(
    token: Token, session: SessionDep, results: ResultsDep, settings: SettingsDep
) -> PlanPublic:
    """The plan: per condition the target stage as the framework describes it, milestones
    (our question ladder) with their state, owner and date; progress; the stages at the
    result it was made from and at each check-in."""
    plan = plan_for_token(session, token)
    return plan_view(session, results, plan, settings.team_min_members)


@router.put(
    "/plans/{token}",
    response_model=PlanPublic,
    dependencies=[Depends(require_json)],
    responses=statuses(400, 404, 413, 415, 422, 503),
)
def replace(
    token: Token, body: PlanUpdate, session: SessionDep, results: ResultsDep, settings: SettingsDep
) -> PlanPublic:
    """Change the time frame, the conditions and their target stages, and the milestones
    (done, owner, date). A condition whose target changes gets the milestones of the new
    target from the latest answers; milestones not listed keep their state."""
    threshold = settings.team_min_members
    plan = update_plan(session, results, plan_for_token(session, token), body, threshold)
    return plan_view(session, results, plan, threshold)
