"""`POST /responses` stores a scored submission; `GET /responses/{id}` reads it back as stored."""

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic_core import to_jsonable_python

from app.api.routes.score import INVALID, TopQuery
from app.deps import ScorerDep, SessionDep, SettingsDep
from app.models import ResponseCreated, ResponsePublic
from app.submissions import read_response, result_url, submit, with_top
from scoring import DEFAULT_TOP, Submission

router = APIRouter(tags=["responses"])


@router.post(
    "/responses",
    status_code=201,
    response_model=ResponseCreated,
    responses=INVALID | {409: {"description": "Idempotency-Key reused with another body"}},
)
def create_response(
    submission: Submission,
    request: Request,
    session: SessionDep,
    scorer: ScorerDep,
    settings: SettingsDep,
    top: TopQuery = DEFAULT_TOP,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Score and store a submission. Retrying with the same Idempotency-Key returns the first
    response (same id) and stores nothing new."""
    submitted = submit(
        session=session, scorer=scorer, submission=submission, idempotency_key=idempotency_key
    )
    created = {
        "id": submitted.id,
        "result_url": result_url(str(request.base_url), settings.public_base_url, submitted.id),
        "result": with_top(submitted.result, top),
    }
    headers = {"Idempotent-Replayed": "true"} if submitted.replayed else None
    return JSONResponse(created, status_code=201, headers=headers)


@router.get(
    "/responses/{response_id}",
    response_model=ResponsePublic,
    responses={404: {"description": "Unknown id"}},
)
def read_stored_response(
    response_id: str, session: SessionDep, top: TopQuery = DEFAULT_TOP
) -> Response:
    """A stored response, exactly as it was scored when submitted (never re-scored)."""
    record = read_response(session=session, response_id=response_id)
    stored = {
        "id": record.id,
        "created_at": to_jsonable_python(record.created_at),
        "quiz_version": record.quiz_version,
        "context": {"state": record.state, "role": record.role},
        "partner": record.partner,
        "result": with_top(record.result, top),
    }
    return JSONResponse(stored)
