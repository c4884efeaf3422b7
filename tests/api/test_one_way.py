"""One way from a route to the database, answers as their models declare, and the CORS and
OpenAPI rules read from the routes (issue 20, part 3)."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import event

from app.api.routes.score import ComparedResult
from app.api.routes.teams import TeamCreated, TeamPublic
from app.deps import get_session
from app.http.middleware import public
from app.http.mounts import Mount, declared
from app.http.openapi import ERROR_REF, statuses
from app.main import MOUNTS, create_app
from app.models import ResponseCreated, ResponsePublic
from quiz import Condition, Framework, Quiz
from tests.support import app_settings, migrated

ROOT = Path(__file__).resolve().parents[2]


def _answers(quiz: Quiz) -> list[dict[str, str]]:
    return [{"question_id": q.id, "option_id": q.options[1].id} for q in quiz.questions]


def test_every_json_answer_is_what_its_response_model_declares(
    client: TestClient, quiz: Quiz
) -> None:
    """`response_model` is true: each answer is valid against the schema of the model its route
    declares (as the OpenAPI document gives it) and names nothing else, for every JSON route
    that declares one."""
    submission = {
        "quiz_version": quiz.version,
        "answers": _answers(quiz),
        "context": {"state": "OH", "role": "state-board"},
        "priorities": ["measuring-success"],
    }
    created = client.post("/api/v1/responses", json=submission)
    assert created.status_code == 201
    response_id = created.json()["id"]
    team = client.post("/api/v1/teams", json={"name": "Board", "state": "OH"})
    assert team.status_code == 201
    lead = {"X-Team-Lead-Token": team.json()["lead_token"]}
    answers: list[tuple[Any, type[BaseModel]]] = [
        (created, ResponseCreated),
        (client.get("/api/v1/quiz"), Quiz),
        (client.get("/api/v1/framework"), Framework),
        (client.get("/api/v1/conditions/measuring-success"), Condition),
        (client.get(f"/api/v1/responses/{response_id}"), ResponsePublic),
        (client.get(f"/api/v1/responses/{response_id}?top=20"), ResponsePublic),
        (client.post("/api/v1/score", json=submission), ComparedResult),
        (
            client.post(f"/api/v1/score?compare_to={response_id}", json=submission),
            ComparedResult,
        ),
        (team, TeamCreated),
        (client.get(f"/api/v1/teams/{team.json()['id']}"), TeamPublic),
        (client.post(f"/api/v1/teams/{team.json()['id']}/close", headers=lead), TeamPublic),
    ]
    declared = {
        (method, route.endpoint): route.response_model
        for route in _api_routes(client)
        for method in route.methods
    }
    for answer, model in answers:
        assert answer.status_code in (200, 201), (answer.url, answer.text[:300])
        path = answer.request.url.path
        route_models = [m for (verb, _), m in declared.items() if verb == answer.request.method]
        assert model in route_models, path
        # As the OpenAPI document describes the answer: the model's serialisation schema.
        jsonschema_rs.validate(model.model_json_schema(mode="serialization"), answer.json())
        # Nothing in the body that the model does not name, at the top level.
        named = set(model.model_fields) | set(model.model_computed_fields)
        assert set(answer.json()) <= named, path


def _api_routes(client: TestClient) -> list[APIRoute]:
    return [
        context.original_route
        for context in iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]
        if isinstance(context.original_route, APIRoute)
    ]


def test_async_routes_are_only_those_that_await_the_writer(client: TestClient) -> None:
    """Reads are plain `def` routes taking the session (FastAPI runs them in its thread pool):
    no `async def` route takes the session. The `async` ones await the writer or answer from a
    cache first, and reach the database only through `in_session`: nothing in app/ hops to the
    thread pool by hand but that helper, the PostgreSQL writer and the CORS origin refresh
    (middleware, not a route)."""
    routes = _api_routes(client)
    assert len(routes) > 20  # pages and API alike
    for route in routes:
        if inspect.iscoroutinefunction(route.endpoint):
            calls = [d.call for d in route.dependant.dependencies]
            assert get_session not in calls, route.path
    hops = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "app").rglob("*.py")
        if "run_in_threadpool(" in path.read_text()
    )
    assert hops == ["app/deps.py", "app/http/middleware.py", "app/responses/writer.py"]
    # The draft and plan pages are `def` routes now, with the session.
    by_path = {(route.path, method): route for route in routes for method in route.methods}
    for path, method in [
        ("/quiz/save", "POST"),
        ("/drafts/{token}", "GET"),
        ("/results/{response_id}/plan", "GET"),
        ("/results/{response_id}/plan", "POST"),
        ("/teams/{team_id}/plan", "POST"),
        ("/plans/{token}", "GET"),
        ("/plans/{token}", "POST"),
        ("/plans/{token}/memo.docx", "GET"),
    ]:
        route = by_path[(path, method)]
        assert not inspect.iscoroutinefunction(route.endpoint), path
        assert get_session in [d.call for d in route.dependant.dependencies], path


def test_a_kept_answer_goes_out_before_any_database_work(client: TestClient, quiz: Quiz) -> None:
    """The plain `/quiz` page, a result page and a stored response, asked for again, are
    answered from what the route kept: `async` routes that open no database connection (and
    take no thread-pool hop) on a hit; the first answer reads the database."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    created = client.post(
        "/api/v1/responses",
        json={"quiz_version": quiz.version, "answers": _answers(quiz)},
    )
    assert created.status_code == 201
    response_id = created.json()["id"]
    checkouts: list[object] = []

    def count(*_: object) -> None:
        checkouts.append(_)

    event.listen(engine, "checkout", count)
    try:
        for path in ("/quiz", f"/results/{response_id}", f"/api/v1/responses/{response_id}"):
            first = client.get(path)
            assert first.status_code == 200, path
            read = len(checkouts)
            again = client.get(path)
            assert again.status_code == 200, path
            assert len(checkouts) == read, path  # no connection for the kept answer
            if path != "/quiz":
                assert again.content == first.content, path
                assert read > 0, path  # the first one did read
    finally:
        event.remove(engine, "checkout", count)
    for route in _api_routes(client):
        if route.path in ("/quiz", "/results/{response_id}", "/api/v1/responses/{response_id}"):
            if "GET" in route.methods:
                assert inspect.iscoroutinefunction(route.endpoint), route.path


def test_the_session_is_closed_when_the_request_ends(client: TestClient) -> None:
    """The session dependency is an async generator (no thread-pool hop): it still ends the
    session's transaction after the route, so its connection goes back to the pool."""
    engine = client.app.state.engine  # type: ignore[attr-defined]

    async def one_request() -> tuple[bool, bool]:
        gen = get_session(engine)
        session = await gen.__anext__()
        session.connection()  # what a route's first query does
        during = session.in_transaction()
        try:
            await gen.__anext__()
        except StopAsyncIteration:
            pass
        return during, session.in_transaction()

    assert asyncio.run(one_request()) == (True, False)


def _probe_app(tmp_path: Path) -> TestClient:
    """The app with two more API routes: one marked `@public`, one not, one declaring a 404."""
    router = APIRouter()

    @router.get("/probe/open", responses=statuses(404))
    @public
    async def read_open_probe() -> dict[str, str]:
        return {"probe": "open"}

    @router.get("/probe/closed")
    async def read_closed_probe() -> dict[str, str]:
        return {"probe": "closed"}

    settings = app_settings(migrated(f"sqlite:///{tmp_path / 'quiz.db'}"))
    return TestClient(create_app(settings, mounts=(*MOUNTS, Mount("/api/v1", router))))


def test_a_route_marked_public_answers_any_origin_and_no_table_lists_it(tmp_path: Path) -> None:
    with _probe_app(tmp_path) as client:
        origin = {"Origin": "https://anywhere.example"}
        open_ = client.get("/api/v1/probe/open", headers=origin)
        closed = client.get("/api/v1/probe/closed", headers=origin)
        assert open_.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-origin" not in closed.headers
        preflight = {**origin, "Access-Control-Request-Method": "GET"}
        assert client.options("/api/v1/probe/open", headers=preflight).status_code == 204
        assert client.options("/api/v1/probe/closed", headers=preflight).status_code == 403


def test_the_statuses_a_route_declares_are_its_openapi_statuses(tmp_path: Path) -> None:
    with _probe_app(tmp_path) as client:
        document = client.get("/openapi.json").json()
    probe = document["paths"]["/api/v1/probe/open"]["get"]["responses"]
    assert set(probe) == {"200", "404"}
    assert probe["404"]["content"]["application/json"]["schema"] == ERROR_REF
    assert set(document["paths"]["/api/v1/probe/closed"]["get"]["responses"]) == {"200"}
    stored = document["paths"]["/api/v1/responses/{response_id}"]["get"]["responses"]
    assert set(stored) == {"200", "304", "404", "422", "503"}
    assert "content" not in stored["304"]
    # The error schema is the one the server sends.
    TypeAdapter(dict[str, Any]).validate_python(document["components"]["schemas"]["Error"])


def test_the_mounts_are_every_route_the_app_serves_and_hold_no_router(client: TestClient) -> None:
    """The layers that read route marks (`@keeps`, `@public`) read the mounts, not FastAPI's
    routing: the two must list the same routes, with the same full paths, in the same order."""
    served = [
        (context.path, context.endpoint)
        for context in iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]
        if isinstance(context.original_route, APIRoute)
    ]
    assert [(route.path, route.endpoint) for route in declared(MOUNTS)] == served
    assert len(served) > 40
    outer, inner = APIRouter(), APIRouter()
    inner.add_api_route("/inner", lambda: None)
    outer.include_router(inner)
    with pytest.raises(TypeError, match="holds routes only"):
        list(declared((Mount("/api/v1", outer),)))


def test_the_document_says_what_tied_with_and_order_basis_mean(client: TestClient) -> None:
    """`tied_with` lists the conditions a recommendation was ordered among, which are its
    equals only for a `tie`: a partner reading the name alone showed "tied with" for
    conditions it comes before."""
    recommendation = client.get("/openapi.json").json()["components"]["schemas"]["Recommendation"]
    tied_with = recommendation["properties"]["tied_with"]["description"]
    assert "before or after it" in tied_with and "only when `order_basis` is `tie`" in tied_with
    assert "`dependency`" in recommendation["properties"]["order_basis"]["description"]
