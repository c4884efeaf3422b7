"""`POST /score`: score a submission and store nothing."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlmodel import Session

from app.api.respond import model_response
from app.deps import EngineDep, ResultsDep, ScorerDep, require_json
from app.http.openapi import statuses
from app.responses.submissions import read_response
from scoring import DEFAULT_TOP, ConditionChange, Result, Submission, changes
from scoring.changes import headline

router = APIRouter(tags=["score"])

TopQuery = Annotated[
    int,
    Query(
        ge=1,
        le=100,
        description="How many recommendations to detail (more than the number of conditions means all).",
    ),
]


class ComparedResult(Result):
    """A result, and with `compare_to`, how it differs from that stored result (what-if)."""

    compared_to: str | None = None
    # Per condition, in the new ranking's order: stage and rank before and after.
    changes: list[ConditionChange] | None = None
    # One sentence on the biggest moves, for a live region.
    changes_summary: str | None = None


@router.post(
    "/score",
    response_model=ComparedResult,
    responses=statuses(400, 404, 413, 415, 422, 503),
    dependencies=[Depends(require_json)],
)
def score_submission(
    submission: Submission,
    scorer: ScorerDep,
    engine: EngineDep,
    results: ResultsDep,
    top: TopQuery = DEFAULT_TOP,
    compare_to: Annotated[
        str | None,
        Query(description="A stored response's id: add how this result differs from it."),
    ] = None,
) -> Response:
    """Score a submission and return the result; nothing is stored. With `compare_to`, the
    answer also says, per condition, the stage and rank before and after (what-if)."""
    result = scorer.score(submission, top=top)
    if compare_to is None:
        return model_response(result)
    with Session(engine) as session:
        before = results.full(session, read_response(session=session, response_id=compare_to))
    found = changes(before, result)
    compared = ComparedResult(
        **dict(result), compared_to=compare_to, changes=found, changes_summary=headline(found)
    )
    return model_response(compared)
