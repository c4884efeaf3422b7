"""`POST /score`: score a submission and store nothing."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from app.api.media import require_json
from app.api.respond import model_response
from app.deps import ScorerDep
from scoring import DEFAULT_TOP, Result, Submission

router = APIRouter(tags=["score"])

TopQuery = Annotated[
    int,
    Query(
        ge=1,
        le=100,
        description="How many recommendations to detail (more than the number of conditions means all).",
    ),
]
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid submission; details name each field"}
}


@router.post(
    "/score",
    response_model=Result,
    responses=INVALID | {415: {"description": "Not application/json"}},
    dependencies=[Depends(require_json)],
)
def score_submission(
    submission: Submission, scorer: ScorerDep, top: TopQuery = DEFAULT_TOP
) -> Response:
    """Score a submission and return the result; nothing is stored."""
    return model_response(scorer.score(submission, top=top))
