"""`/teams`: a leadership team answering together (app/teams/service.py)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, field_validator
from pydantic_core import to_jsonable_python
from sqlmodel import Session

from app.api.media import require_json
from app.deps import (
    EngineDep,
    LimiterDep,
    ResultsDep,
    ScorerDep,
    SettingsDep,
    WriterDep,
    client_address,
)
from app.errors import InvalidRequest
from app.models import as_utc
from app.responses.submissions import public_base
from app.teams.service import (
    DEFAULT_DAYS,
    close_team,
    create_team,
    get_team,
    load_team_view,
    team_links,
    team_view,
)
from scoring.team import AgendaItem, TeamCondition, TeamRecommendation

router = APIRouter(tags=["teams"])
LeadToken = Annotated[
    str | None, Header(alias="X-Team-Lead-Token", description="The lead token from creation")
]


# Whitespace as Python's str.strip() removes it, spelled out: `\s` means other sets in other
# regex engines, and the OpenAPI document (read by any) must take exactly the names we do.
SPACES = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
# A team name: up to 120 characters as sent (stored without the spaces around it), at least
# one of them not a space, and no NUL (which no field may hold: app/http/storable.py).
TEAM_NAME_PATTERN = f"^[^\\x00]*[^\\x00{SPACES}][^\\x00]*$"
TEAM_NAME = re.compile(TEAM_NAME_PATTERN)


class TeamCreate(BaseModel):
    model_config = {"extra": "forbid"}

    name: Annotated[str, Field(max_length=120, json_schema_extra={"pattern": TEAM_NAME_PATTERN})]
    state: str | None = None
    closes_in_days: int = Field(default=DEFAULT_DAYS, ge=1, le=365)

    @field_validator("name")
    @classmethod
    def _not_only_spaces(cls, value: str) -> str:
        if not TEAM_NAME.match(value):
            raise ValueError("a team name needs a character other than spaces")
        return value.strip()

    @field_validator("state", mode="before")
    @classmethod
    def _empty_is_not_given(cls, value: object) -> object:
        return None if value == "" else value


class TeamCreated(BaseModel):
    id: str
    name: str
    state: str | None
    join_token: str
    join_url: str
    team_url: str
    lead_token: str
    closes_at: datetime


class TeamPublic(BaseModel):
    id: str
    name: str
    state: str | None
    # Null until `threshold` members have answered, unless asked with the lead token.
    members: int | None
    threshold: int
    closed: bool
    closes_at: datetime
    # Null until `threshold` members have answered.
    conditions: list[TeamCondition] | None
    recommendations: list[TeamRecommendation] | None
    # The few conditions where members are furthest apart, in a suggested order to discuss
    # (ours); null until `threshold` members have answered.
    agenda: list[AgendaItem] | None


@router.post(
    "/teams",
    status_code=201,
    response_model=TeamCreated,
    dependencies=[Depends(require_json)],
    responses={422: {"description": "Invalid team"}, 429: {"description": "Too many"}},
)
def create(
    body: TeamCreate,
    request: Request,
    scorer: ScorerDep,
    engine: EngineDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> Response:
    """Create a team. The join link is for colleagues; the lead token (shown only here) lets
    its holder see the member count early and close the team."""
    states = scorer.context_options["state"]
    if body.state is not None and body.state not in states:
        raise InvalidRequest(
            "Unknown state code.",
            [
                {
                    "field": "state",
                    "code": "unknown_state",
                    "message": f"'{body.state}' is not a state code",
                }
            ],
        )
    limiter.hit(f"ip:{client_address(request)}", settings.rate_limit_per_minute)
    with Session(engine) as session:
        created = create_team(
            session, name=body.name, state=body.state, closes_in_days=body.closes_in_days
        )
    team = created.team
    links = team_links(
        public_base(request, settings), team.id, created.join_token, created.lead_token
    )
    answer = {
        "id": team.id,
        "name": team.name,
        "state": team.state,
        "join_token": created.join_token,
        "join_url": links["join_url"],
        "team_url": links["team_url"],
        "lead_token": created.lead_token,
        "closes_at": to_jsonable_python(as_utc(team.closes_at)),
    }
    return JSONResponse(answer, status_code=201)


@router.get(
    "/teams/{team_id}", response_model=TeamPublic, responses={404: {"description": "Unknown"}}
)
async def read(
    team_id: str,
    engine: EngineDep,
    results: ResultsDep,
    settings: SettingsDep,
    lead_token: LeadToken = None,
) -> Response:
    """The team as one picture: per condition, members by stage, the team's stage and whether
    members disagree; the team's ranking. Nothing about members below the threshold."""
    view, _ = await run_in_threadpool(
        load_team_view, engine, results, team_id, lead_token, settings.team_min_members
    )
    return JSONResponse(to_jsonable_python(view))


@router.post(
    "/teams/{team_id}/close",
    response_model=TeamPublic,
    responses={401: {"description": "Not the lead token"}, 404: {"description": "Unknown"}},
)
def close(
    team_id: str,
    engine: EngineDep,
    results: ResultsDep,
    settings: SettingsDep,
    writer: WriterDep,
    lead_token: LeadToken = None,
) -> Response:
    """Close the team with the lead token: no new members; the page stays readable."""
    close_team(engine, writer, team_id, lead_token)
    with Session(engine) as session:
        team = get_team(session, team_id)
        view = team_view(session, results, team, lead=True, threshold=settings.team_min_members)
    return JSONResponse(to_jsonable_python(view))
