"""Team pages: create a team, its page (the team as one picture), closing it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.deps import (
    EngineDep,
    LimiterDep,
    ResultsDep,
    ScorerDep,
    SessionDep,
    SettingsDep,
    WriterDep,
    client_address,
)
from app.http.answers import PRIVATE
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
# A form field as sent: anything (the route checks it and says what is wrong next to it).
Field = Annotated[str, Form()]


@router.get("/teams/new", response_class=HTMLResponse)
async def new_team_form(request: Request) -> Response:
    return render(
        request, "team_new.html", {"fields": {"closes_in_days": str(DEFAULT_DAYS)}, "errors": {}}
    )


@router.post("/teams/new", response_class=HTMLResponse)
def create_team_from_form(
    request: Request,
    session: SessionDep,
    scorer: ScorerDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    name: Field = "",
    state: Field = "",
    closes_in_days: Field = str(DEFAULT_DAYS),
) -> Response:
    fields = {
        "name": name.strip(),
        "state": state.strip(),
        "closes_in_days": closes_in_days.strip(),
    }
    errors: dict[str, str] = {}
    if not fields["name"] or len(fields["name"]) > 120:
        errors["name"] = "Give the team a name of 1 to 120 characters."
    chosen = fields["state"] or None
    if chosen is not None and chosen not in scorer.context_options["state"]:
        errors["state"] = "Choose a state from the list, or none."
    days_text = fields["closes_in_days"]
    days = int(days_text) if days_text.isdigit() else 0
    if not 1 <= days <= 365:
        errors["closes_in_days"] = "Choose between 1 and 365 days."
    if errors:
        return render(request, "team_new.html", {"fields": fields, "errors": errors}, 422)
    limiter.hit(f"ip:{client_address(request)}", settings.rate_limit_per_minute)
    created = create_team(session, name=fields["name"], state=chosen, closes_in_days=days)
    team = created.team
    links = team_links(
        public_base(request, settings), team.id, created.join_token, created.lead_token
    )
    page = render(request, "team_created.html", {"team": team, "links": links}, 201)
    page.headers.update(PRIVATE)  # the join and lead links, shown this once
    return page


@router.get("/teams/{team_id}", response_class=HTMLResponse)
def read_team_page(
    team_id: str,
    request: Request,
    session: SessionDep,
    results: ResultsDep,
    settings: SettingsDep,
) -> Response:
    """Per condition: members by stage, the team's stage and where members disagree ("talk
    about this first"), and the team's own "Begin here". Nobody's answers, ever."""
    lead_token = request.query_params.get("lead")
    view, lead = load_team_view(session, results, team_id, lead_token, settings.team_min_members)
    join_url = None
    if lead:
        token = join_link_again(get_team(session, team_id), lead_token)
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
            "wrong_lead": bool(lead_token) and not lead,
        },
    )
    page.headers.update(PRIVATE)  # the lead's view carries the lead link
    return page


@router.post("/teams/{team_id}/close", response_class=HTMLResponse)
def close_team_from_form(
    team_id: str, engine: EngineDep, writer: WriterDep, lead: Field = ""
) -> Response:
    close_team(engine, writer, team_id, lead)
    return RedirectResponse(f"/teams/{team_id}?lead={lead}", status_code=303)
