"""Scoring and stored responses."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from app.deps import FrameworkDep, QuizDep, SessionDep, SettingsDep
from app.errors import AppError
from app.models import ContextPublic, ResponseCreated, ResponsePublic
from app.responses import read_response, result_url, store_response
from quiz import Framework, Quiz
from scoring import DEFAULT_TOP, Result, Submission, SubmissionInvalid, build_result

router = APIRouter(prefix="/api/v1", tags=["scoring"])

TopQuery = Annotated[
    int,
    Query(
        ge=1,
        le=100,
        description="How many recommendations to detail (more than the number of conditions means all).",
    ),
]
ERRORS = {422: {"description": "Invalid submission; details name each field"}}


def score(submission: Submission, *, quiz: Quiz, framework: Framework, top: int) -> Result:
    """Score a submission, turning validation problems into a 422 naming each field."""
    try:
        return build_result(submission, quiz=quiz, framework=framework, top=top)
    except SubmissionInvalid as exc:
        raise AppError(
            422,
            "invalid_submission",
            "The submission does not match the quiz; see details.",
            [p.model_dump() for p in exc.problems],
        ) from exc


def with_top(result: Result, top: int) -> Result:
    return result.model_copy(update={"recommendations": result.recommendations[:top]})


@router.post("/score", response_model=Result, responses=ERRORS)
def score_submission(
    submission: Submission, quiz: QuizDep, framework: FrameworkDep, top: TopQuery = DEFAULT_TOP
) -> Result:
    """Score a submission and return the result; nothing is stored."""
    return score(submission, quiz=quiz, framework=framework, top=top)


@router.post(
    "/responses",
    status_code=201,
    response_model=ResponseCreated,
    responses=ERRORS | {409: {"description": "Idempotency-Key reused with another body"}},
)
def create_response(
    submission: Submission,
    request: Request,
    response: Response,
    session: SessionDep,
    quiz: QuizDep,
    framework: FrameworkDep,
    settings: SettingsDep,
    top: TopQuery = DEFAULT_TOP,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ResponseCreated:
    """Score and store a submission. Retrying with the same Idempotency-Key returns the first
    response (same id) and stores nothing new."""
    # Stored with every recommendation, so a later reader can ask for any `top`.
    full = score(submission, quiz=quiz, framework=framework, top=len(framework.conditions))
    stored = store_response(
        session=session, submission=submission, result=full, idempotency_key=idempotency_key
    )
    if stored.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ResponseCreated(
        id=stored.record.id,
        result_url=result_url(request, settings.public_base_url, stored.record.id),
        result=with_top(Result.model_validate(stored.record.result), top),
    )


@router.get(
    "/responses/{response_id}",
    response_model=ResponsePublic,
    responses={404: {"description": "Unknown id"}},
)
def read_stored_response(
    response_id: str, session: SessionDep, top: TopQuery = DEFAULT_TOP
) -> ResponsePublic:
    """A stored response, exactly as it was scored when submitted."""
    record = read_response(session=session, response_id=response_id)
    return ResponsePublic(
        id=record.id,
        created_at=record.created_at,
        quiz_version=record.quiz_version,
        context=ContextPublic(state=record.state, role=record.role),
        partner=record.partner,
        result=with_top(Result.model_validate(record.result), top),
    )
