"""Team pages: create a team, its page (the team as one picture), closing it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.deps import (
    EngineDep,
    LimiterDep,
    ResultsDep,
    ScorerDep,
    SettingsDep,
    WriterDep,
    client_address,
)
from app.responses.submissions import public_base
from app.teams.service import (
    DEFAULT_DAYS,
    close_team,
    create_team,
    get_team,
    join_link_again,
    load_team_view,
    team_links,
)
from app.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/teams/new", response_class=HTMLResponse)
async def new_team_form(request: Request) -> Response:
    return render(
        request, "team_new.html", {"fields": {"closes_in_days": str(DEFAULT_DAYS)}, "errors": {}}
    )


@router.post("/teams/new", response_class=HTMLResponse)
async def create_team_from_form(
    request: Request,
    engine: EngineDep,
    scorer: ScorerDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> Response:
    raw = await request.form()
    fields = {k: v.strip() for k, v in raw.items() if isinstance(v, str)}
    errors: dict[str, str] = {}
    name = fields.get("name", "")
    if not name or len(name) > 120:
        errors["name"] = "Give the team a name of 1 to 120 characters."
    state = fields.get("state") or None
    if state is not None and state not in scorer.context_options["state"]:
        errors["state"] = "Choose a state from the list, or none."
    days_text = fields.get("closes_in_days", str(DEFAULT_DAYS))
    days = int(days_text) if days_text.isdigit() else 0
    if not 1 <= days <= 365:
        errors["closes_in_days"] = "Choose between 1 and 365 days."
    if errors:
        return render(request, "team_new.html", {"fields": fields, "errors": errors}, 422)
    await run_in_threadpool(
        limiter.hit, f"ip:{client_address(request)}", settings.rate_limit_per_minute
    )

    def create() -> tuple[Any, str, str]:
        with Session(engine) as session:
            created = create_team(session, name=name, state=state, closes_in_days=days)
            return created.team, created.join_token, created.lead_token

    team, join_token, lead_token = await run_in_threadpool(create)
    links = team_links(public_base(request, settings), team.id, join_token, lead_token)
    return render(request, "team_created.html", {"team": team, "links": links}, 201)


@router.get("/teams/{team_id}", response_class=HTMLResponse)
async def read_team_page(
    team_id: str,
    request: Request,
    engine: EngineDep,
    results: ResultsDep,
    settings: SettingsDep,
) -> Response:
    """Per condition: members by stage, the team's stage and where members disagree ("talk
    about this first"), and the team's own "Begin here". Nobody's answers, ever."""
    lead_token = request.query_params.get("lead")
    view, lead = await run_in_threadpool(
        load_team_view, engine, results, team_id, lead_token, settings.team_min_members
    )
    join_url = None
    if lead:
        token = await run_in_threadpool(_join_again, engine, team_id, lead_token)
        if token:
            join_url = team_links(public_base(request, settings), team_id, token, "")["join_url"]
    quiz = results.scorer.quiz
    states = quiz.context_question("state")
    state = states.option(view["state"]) if states and view["state"] else None
    page = render(
        request,
        "team.html",
        {
            "team": view,
            "lead": lead,
            "lead_token": lead_token if lead else None,
            "state_name": state.label if state else None,
            "stage_names": results.scorer.stage_names,
            "join_url": join_url,
        },
    )
    page.headers["Cache-Control"] = "private, no-store"
    return page


def _join_again(engine: Engine, team_id: str, lead_token: str | None) -> str | None:
    with Session(engine) as session:
        return join_link_again(get_team(session, team_id), lead_token)


@router.post("/teams/{team_id}/close", response_class=HTMLResponse)
async def close_team_from_form(
    team_id: str, request: Request, engine: EngineDep, writer: WriterDep
) -> Response:
    lead_token = str((await request.form()).get("lead") or "")
    await run_in_threadpool(close_team, engine, writer, team_id, lead_token)
    return RedirectResponse(f"/teams/{team_id}?lead={lead_token}", status_code=303)
