"""Team mode through the API, on SQLite and PostgreSQL: create, join, the threshold, closing,
concurrent joins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import create_engine, select
from sqlmodel import col

from app.models import ResponseRecord, Team, as_utc
from quiz import Quiz
from tests.scoring.support import every_question_at, option_for
from tests.support import InProcessServer, LiveServer


def member(quiz: Quiz, token: str, funding: int, **extra: Any) -> dict[str, Any]:
    stages = every_question_at(1) | {"funding": funding}
    return {
        "quiz_version": quiz.version,
        "team": token,
        "context": {"role": "state-board"},
        "answers": [{"question_id": q, "option_id": option_for(q, s)} for q, s in stages.items()],
        **extra,
    }


def test_team_lifecycle(server: LiveServer | InProcessServer, quiz: Quiz) -> None:
    with server.client() as c:
        r = c.post("/api/v1/teams", json={"name": "  Ohio leadership  ", "state": "OH"})
        assert r.status_code == 201, r.text
        team = r.json()
        assert team["name"] == "Ohio leadership" and team["state"] == "OH"
        assert team["join_url"].endswith(f"/quiz?team={team['join_token']}")
        assert team["team_url"].endswith(f"/teams/{team['id']}")
        assert team["closes_at"].endswith(("Z", "+00:00"))
        lead = {"X-Team-Lead-Token": team["lead_token"]}
        url = f"/api/v1/teams/{team['id']}"

        for i, funding in enumerate((1, 1)):
            assert (
                c.post(
                    "/api/v1/responses", json=member(quiz, team["join_token"], funding)
                ).status_code
                == 201
            )
            public = c.get(url).json()
            assert public["members"] is None and public["conditions"] is None
            assert c.get(url, headers=lead).json()["members"] == i + 1
        keyed = {"Idempotency-Key": "third-member"}
        third = c.post("/api/v1/responses", json=member(quiz, team["join_token"], 3), headers=keyed)
        view = c.get(url).json()
        assert view["members"] == 3 and view["threshold"] == 3 and not view["closed"]
        funding = next(x for x in view["conditions"] if x["slug"] == "responsive-funding-systems")
        assert funding["counts"] == {"0": 0, "1": 2, "2": 0, "3": 1, "unknown": 0}
        assert funding["team_stage"] == 1 and funding["disagreement"]
        assert funding["differing_questions"] == ["funding"]
        agreed = [x for x in view["conditions"] if not x["disagreement"]]
        assert len(agreed) == len(view["conditions"]) - 1
        assert len(view["recommendations"]) == 3

        assert c.post(f"{url}/close").status_code == 401
        assert c.post(f"{url}/close", headers={"X-Team-Lead-Token": "wrong"}).status_code == 401
        closed = c.post(f"{url}/close", headers=lead).json()
        assert closed["closed"] is True
        late = c.post("/api/v1/responses", json=member(quiz, team["join_token"], 2))
        assert late.status_code == 409 and late.json()["error"]["code"] == "team_closed"
        # A retry of an answer stored before the team closed still gets that answer.
        retry = c.post("/api/v1/responses", json=member(quiz, team["join_token"], 3), headers=keyed)
        assert retry.status_code == 201 and retry.json()["id"] == third.json()["id"]
        assert retry.headers["idempotent-replayed"] == "true"
        assert c.get(url).json()["members"] == 3  # still readable


def test_unknown_teams_and_links(server: LiveServer | InProcessServer, quiz: Quiz) -> None:
    with server.client() as c:
        for bad in ("nope", "A" * 22, "../x"):
            assert c.get(f"/api/v1/teams/{bad}").status_code == 404
        r = c.post("/api/v1/responses", json=member(quiz, "not-a-team-link", 1))
        assert r.status_code == 404 and r.json()["error"]["details"][0]["field"] == "team"
        for bad in (
            {"name": ""},
            {"name": "x" * 121},
            {"name": "T", "state": "ZZ"},
            {"name": "T", "closes_in_days": 0},
        ):
            assert c.post("/api/v1/teams", json=bad).status_code == 422


def test_twenty_members_join_at_once(live: LiveServer, quiz: Quiz) -> None:
    team = httpx.post(f"{live.base_url}/api/v1/teams", json={"name": "Big team"}).json()

    def join(i: int) -> int:
        with httpx.Client(base_url=live.base_url, timeout=60) as c:
            return c.post(
                "/api/v1/responses", json=member(quiz, team["join_token"], i % 4)
            ).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert list(pool.map(join, range(20))) == [201] * 20
    view = httpx.get(f"{live.base_url}/api/v1/teams/{team['id']}").json()
    assert view["members"] == 20
    # Every member placed the state: the counts cover six whole batches of three (18); the
    # last two wait for a third (docs/privacy.md).
    funding = next(x for x in view["conditions"] if x["slug"] == "responsive-funding-systems")
    assert sum(funding["counts"].values()) == 18


def test_a_close_is_a_barrier_to_members_racing_it(live: LiveServer, quiz: Quiz) -> None:
    """The issue: 37 of 142 (SQLite) and 30 of 138 (PostgreSQL) stored members were created
    after the team's `closed_at`: a member was checked against the team before its write and
    stored after the close. Many members racing one close: every stored member was created
    before the close, every 201 is stored, and everyone else got the team's 409."""
    team = httpx.post(f"{live.base_url}/api/v1/teams", json={"name": "Racing"}).json()
    done = threading.Semaphore(0)

    def join(worker: int) -> list[tuple[int, dict[str, Any]]]:
        """Members from one client until the team refuses one (at most 40): every worker ends
        racing the close, however the machine schedules it."""
        answers = []
        with httpx.Client(base_url=live.base_url, timeout=60) as c:
            for i in range(40):
                r = c.post("/api/v1/responses", json=member(quiz, team["join_token"], i % 4))
                answers.append((r.status_code, r.json()))
                done.release()
                if r.status_code != 201:
                    break
        return answers

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(join, worker) for worker in range(16)]
        for _ in range(30):  # members are streaming in: close now
            done.acquire()
        closed = httpx.post(
            f"{live.base_url}/api/v1/teams/{team['id']}/close",
            headers={"X-Team-Lead-Token": team["lead_token"]},
            timeout=60,
        )
        answers = [answer for f in futures for answer in f.result()]
    assert closed.status_code == 200 and closed.json()["closed"] is True
    created = {a["id"] for status, a in answers if status == 201}
    refused = [a for status, a in answers if status != 201]
    assert all(a["error"]["code"] == "team_closed" for a in refused), refused[:3]
    assert created and refused  # the close fell in the middle of the members
    engine = create_engine(live.app.state.settings.database_url)
    with engine.connect() as conn:
        closed_at = conn.execute(
            select(Team.closed_at).where(col(Team.id) == team["id"])
        ).scalar_one()
        stored = conn.execute(
            select(ResponseRecord.id, ResponseRecord.created_at).where(
                col(ResponseRecord.team_id) == team["id"]
            )
        ).all()
    engine.dispose()
    late = [rid for rid, at in stored if as_utc(at) > as_utc(closed_at)]
    assert late == [], f"{len(late)} of {len(stored)} members were created after the close"
    assert {rid for rid, _ in stored} == created
