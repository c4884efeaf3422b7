"""`/teams`: a leadership team answering together (app/teams/service.py)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field, field_validator

from app.deps import (
    EngineDep,
    LimiterDep,
    ResultsDep,
    ScorerDep,
    SessionDep,
    SettingsDep,
    WriterDep,
    client_address,
    require_json,
)
from app.errors import InvalidRequest
from app.http.openapi import statuses
from app.models import as_utc
from app.responses.submissions import public_base
from app.teams.service import (
    DEFAULT_DAYS,
    close_team,
    create_team,
    load_team_view,
    team_links,
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
# one of them not a space, and no NUL (which no field may hold: app/deps.py, storable_text).
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
    responses=statuses(400, 413, 415, 422, 429, 503),
)
def create(
    body: TeamCreate,
    request: Request,
    scorer: ScorerDep,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> TeamCreated:
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
    created = create_team(
        session, name=body.name, state=body.state, closes_in_days=body.closes_in_days
    )
    team = created.team
    links = team_links(
        public_base(request, settings), team.id, created.join_token, created.lead_token
    )
    return TeamCreated(
        id=team.id,
        name=team.name,
        state=team.state,
        join_token=created.join_token,
        join_url=links["join_url"],
        team_url=links["team_url"],
        lead_token=created.lead_token,
        closes_at=as_utc(team.closes_at),
    )


@router.get("/teams/{team_id}", response_model=TeamPublic, responses=statuses(404, 422, 503))
def read(
    team_id: str,
    session: SessionDep,
    results: ResultsDep,
    settings: SettingsDep,
    lead_token: LeadToken = None,
) -> TeamPublic:
    """The team as one picture: per condition, members by stage, the team's stage and whether
    members disagree; the team's ranking. Nothing about members below the threshold."""
    view, _ = load_team_view(session, results, team_id, lead_token, settings.team_min_members)
    return TeamPublic.model_validate(view)


@router.post(
    "/teams/{team_id}/close",
    response_model=TeamPublic,
    responses=statuses(401, 404, 422, 503),
)
def close(
    team_id: str,
    engine: EngineDep,
    session: SessionDep,
    results: ResultsDep,
    settings: SettingsDep,
    writer: WriterDep,
    lead_token: LeadToken = None,
) -> TeamPublic:
    """Close the team with the lead token: no new members; the page stays readable."""
    close_team(engine, writer, team_id, lead_token)
    view, _ = load_team_view(session, results, team_id, lead_token, settings.team_min_members)
    return TeamPublic.model_validate(view)
