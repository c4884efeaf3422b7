"""Team mode: create a team, join it through its link, read it as one picture.

A team has a public id (its page's address, 128 random bits), a join token (the link members
take the quiz through) and a lead token (to see the count early and to close the team). Both
tokens are shown once and stored as sha256 hashes. Members are counted, never named: the team
view is built from their stored results (scoring/team.py) and shows nothing about any of them
until TEAM_MIN_MEMBERS have answered; then each condition only once TEAM_MIN_MEMBERS members
gave a known answer for it, its figures growing by batches of that many (docs/privacy.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.errors import NotFound, TeamClosed, Unauthorized
from app.models import ResponseRecord, Team, as_utc, utcnow
from app.responses.results import Results
from app.responses.writer import Writer
from scoring.team import Member, aggregate

TEAM_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
DEFAULT_DAYS = 90


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedTeam:
    team: Team
    join_token: str
    lead_token: str


def create_team(
    session: Session, *, name: str, state: str | None, closes_in_days: int = DEFAULT_DAYS
) -> CreatedTeam:
    lead_token = secrets.token_urlsafe(24)
    join_token = join_token_for(lead_token)
    now = utcnow()
    team = Team(
        id=secrets.token_urlsafe(16),
        name=name.strip(),
        state=state or None,
        join_token_hash=_hash(join_token),
        lead_token_hash=_hash(lead_token),
        closes_at=now + timedelta(days=closes_in_days),
        created_at=now,
    )
    session.add(team)
    session.commit()
    session.refresh(team)
    return CreatedTeam(team, join_token, lead_token)


def join_token_for(lead_token: str) -> str:
    """The join link's token, derived from the lead's (HMAC-SHA256, 192 bits kept), so that the
    lead can be shown the join link again while the server keeps only hashes of both. The join
    token does not reveal the lead token."""
    digest = hmac.new(lead_token.encode(), b"team join link", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def join_link_again(team: Team, lead_token: str | None) -> str | None:
    """The join token for the lead, when the team's was derived from its lead token (teams
    created before that have a join token nobody can recover)."""
    if not is_lead(team, lead_token):
        return None
    token = join_token_for(lead_token or "")
    return token if hmac.compare_digest(team.join_token_hash, _hash(token)) else None


def team_links(base: str, team_id: str, join_token: str, lead_token: str) -> dict[str, str]:
    return {
        "join_url": f"{base}/quiz?team={join_token}",
        "team_url": f"{base}/teams/{team_id}",
        "lead_url": f"{base}/teams/{team_id}?lead={lead_token}",
    }


def get_team(session: Session, team_id: str) -> Team:
    team = session.get(Team, team_id) if TEAM_ID.match(team_id) else None
    if team is None:
        raise NotFound("No team with that id.")
    return team


def team_for_join(session: Session, join_token: str) -> Team:
    """The open team a join link belongs to; 404 for an unknown link, 409 once closed."""
    team = session.exec(select(Team).where(col(Team.join_token_hash) == _hash(join_token))).first()
    if team is None:
        raise NotFound(
            "That team link is not known. Ask your team lead for the link again.",
            [{"field": "team", "code": "unknown_team", "message": "no team with that link"}],
        )
    if is_closed(team):
        raise _closed_error(team.name)
    return team


def is_closed(team: Team, now: datetime | None = None) -> bool:
    return _closed(team.closed_at, team.closes_at, now)


def _closed(closed_at: datetime | None, closes_at: datetime, now: datetime | None = None) -> bool:
    return closed_at is not None or as_utc(closes_at) <= (now or utcnow())


def is_lead(team: Team, lead_token: str | None) -> bool:
    return bool(lead_token) and hmac.compare_digest(team.lead_token_hash, _hash(lead_token or ""))


# Closing is a barrier: no member is stored after it. A member's write checks the team inside
# its own write transaction (`closed_in_write`, from app/responses/submissions.py), and the close is a
# write of its own, through the same writer, that takes the clock for `closed_at` only once it
# holds the team: on PostgreSQL the row, locked FOR UPDATE against the members' FOR SHARE; on
# SQLite the database's write lock, which the group-commit writer holds for each batch (and
# several processes take in turn). So a member stored is one whose write committed before the
# close took the team, and was created before `closed_at`; any later write sees the close.
TEAMS = Team.__table__  # type: ignore[attr-defined]  # SQLModel adds it


def closed_in_write(session: Session, team_id: str) -> TeamClosed | None:
    """Inside a member's write: the refusal when the team is closed by now, else None."""
    name, closed_at, closes_at = session.execute(
        select(TEAMS.c.name, TEAMS.c.closed_at, TEAMS.c.closes_at)
        .where(TEAMS.c.id == team_id)
        .with_for_update(read=True)  # FOR SHARE: members write side by side, the close waits
    ).one()
    return _closed_error(name) if _closed(closed_at, closes_at) else None


def _closed_error(name: str) -> TeamClosed:
    return TeamClosed(
        f"The team “{name}” is closed and takes no new answers. Its page stays readable.",
        [{"field": "team", "code": "team_closed", "message": "the team is closed"}],
    )


def close_team(engine: Engine, writer: Writer, team_id: str, lead_token: str | None) -> None:
    """Close the team with its lead token (401 otherwise): no member is stored after this."""
    with Session(engine) as session:
        # The lead token is checked before the write (it never changes), so a wrong one never
        # fails a batch of the writer's.
        if not is_lead(get_team(session, team_id), lead_token):
            raise Unauthorized("Only the team lead's link can close the team.")

    def close(write: Session) -> None:
        closed_at = write.execute(
            select(TEAMS.c.closed_at).where(TEAMS.c.id == team_id).with_for_update()
        ).scalar_one()
        if closed_at is None:
            # The clock is read now, holding the team: after every member stored before.
            write.execute(update(TEAMS).where(TEAMS.c.id == team_id).values(closed_at=utcnow()))

    writer.run(close)


def member_count(session: Session, team: Team) -> int:
    count = session.exec(
        select(func.count())
        .select_from(ResponseRecord)
        .where(col(ResponseRecord.team_id) == team.id)
    ).one()
    return int(count)


def team_view(
    session: Session, results: Results, team: Team, *, lead: bool, threshold: int
) -> dict[str, Any]:
    """What the team page and `GET /api/v1/teams/{id}` show. Below the threshold, nothing about
    the members (the count only to the lead)."""
    members = member_count(session, team)
    enough = members >= threshold
    view: dict[str, Any] = {
        "id": team.id,
        "name": team.name,
        "state": team.state,
        "members": members if enough or lead else None,
        "threshold": threshold,
        "closed": is_closed(team),
        "closes_at": as_utc(team.closes_at),
        "conditions": None,
        "recommendations": None,
        "agenda": None,
    }
    if enough:
        joined = _members(session, results, team)
        aggregated = aggregate(results.scorer, joined, threshold=threshold)
        view["conditions"] = [c.model_dump(mode="json") for c in aggregated.conditions]
        view["recommendations"] = [r.model_dump(mode="json") for r in aggregated.recommendations]
        view["agenda"] = [a.model_dump(mode="json") for a in aggregated.agenda]
    return view


def load_team_view(
    session: Session, results: Results, team_id: str, lead_token: str | None, threshold: int
) -> tuple[dict[str, Any], bool]:
    """The team's view and whether `lead_token` is its lead's: for the page and the API."""
    team = get_team(session, team_id)
    lead = is_lead(team, lead_token)
    return team_view(session, results, team, lead=lead, threshold=threshold), lead


def _members(session: Session, results: Results, team: Team) -> list[Member]:
    """In the order they joined: what the team shows grows in batches along it."""
    records = session.exec(
        select(ResponseRecord)
        .where(col(ResponseRecord.team_id) == team.id)
        .order_by(col(ResponseRecord.created_at), col(ResponseRecord.id))
    ).all()
    members = []
    for record in records:
        # Decisions only: the stored core (or an older whole result) has each condition's stage.
        stored = record.result
        members.append(
            Member(
                stages={c["slug"]: c.get("stage") for c in stored.get("conditions", [])},
                answers={a["question_id"]: a["option_id"] for a in record.answers},
                priorities=tuple(stored.get("priorities", [])),
                evidence={
                    a["question_id"]: a["evidence"] for a in record.answers if a.get("evidence")
                },
            )
        )
    return members
