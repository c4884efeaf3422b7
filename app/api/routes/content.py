"""Read-only content: the framework, one condition, the quiz.

Content only changes with a deployment, so each document is serialised once, at start-up
(`Tagged`, app/http/answers.py), and answered with an ETag (304 when the client has it) and a cache lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.cache import CachePolicy
from app.deps import CachesDep
from app.errors import NotFound
from app.http.answers import JSON, Built, Tagged
from app.http.kept import Kept, keeps
from app.http.middleware import public
from app.http.openapi import statuses
from quiz import Condition, Framework, Quiz
from scoring import Scorer

router = APIRouter(tags=["content"])
CACHE_CONTROL = b"public, max-age=300"


@dataclass(frozen=True)
class ContentJson:
    framework: Tagged
    quiz: Tagged
    conditions: dict[str, Tagged]

    @classmethod
    def of(cls, scorer: Scorer) -> ContentJson:
        return cls(
            Tagged.of(scorer.framework.model_dump_json().encode()),
            Tagged.of(scorer.quiz.model_dump_json().encode()),
            {c.slug: Tagged.of(c.model_dump_json().encode()) for c in scorer.framework.conditions},
        )


async def get_content_json(request: Request) -> ContentJson:
    content: ContentJson = request.app.state.content_json
    return content


ContentJsonDep = Annotated[ContentJson, Depends(get_content_json)]


def _static_answer(document: Tagged, request: Request) -> Built:
    return document.built(request.scope, JSON, CACHE_CONTROL)


# The two most requested documents, kept by their routes once answered, so that the layer
# before routing answers them (app/http/kept.py); a kept document is the bytes built at
# start-up, so keeping it costs nothing.
CONTENT_DOCUMENTS = CachePolicy("content documents", max_items=2)
FRAMEWORK_JSON: Kept[Tagged] = Kept(CONTENT_DOCUMENTS, lambda *_: "framework", _static_answer)
QUIZ_JSON: Kept[Tagged] = Kept(CONTENT_DOCUMENTS, lambda *_: "quiz", _static_answer)


@router.get("/framework", response_model=Framework, responses=statuses(304))
@public
@keeps(FRAMEWORK_JSON)
async def read_framework(request: Request, content: ContentJsonDep, caches: CachesDep) -> Response:
    """The whole framework: stages, strategies, conditions, commitments and open notes."""
    return FRAMEWORK_JSON.keep(request, caches, "", content.framework).response()


@router.get("/conditions/{slug}", response_model=Condition, responses=statuses(304, 404))
@public
async def read_condition(slug: str, request: Request, content: ContentJsonDep) -> Response:
    """One condition with its three stages and early-adopter example."""
    found = content.conditions.get(slug)
    if found is None:
        raise NotFound(f"No condition with slug '{slug}'.")
    return _static_answer(found, request).response()


@router.get("/quiz", response_model=Quiz, responses=statuses(304))
@public
@keeps(QUIZ_JSON)
async def read_quiz(request: Request, content: ContentJsonDep, caches: CachesDep) -> Response:
    """The questions, each option mapped to a stage (null for "I'm not sure")."""
    return QUIZ_JSON.keep(request, caches, "", content.quiz).response()
