"""Plain pydantic models in and out of scoring: a submission, stage estimates and the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from quiz.framework import ConditionStage, EarlyAdopter

SCORING_VERSION = "1.0"

Confidence = Literal["answered", "unsure", "unanswered"]
Focus = Literal["advance", "confirm", "sustain"]
ShortText = Annotated[str, StringConstraints(max_length=100)]


class _Input(BaseModel):
    # Extra fields are rejected: a partner's typo must not be silently ignored.
    model_config = ConfigDict(extra="forbid")


class Answer(_Input):
    question_id: ShortText
    option_id: ShortText


class SubmissionContext(_Input):
    state: ShortText | None = None
    role: ShortText | None = None


class Submission(_Input):
    quiz_version: ShortText
    answers: list[Answer] = Field(default_factory=list, max_length=200)
    context: SubmissionContext = Field(default_factory=SubmissionContext)
    partner: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] | None
    ) = None


class Problem(BaseModel):
    """One thing wrong with a submission, naming the offending field."""

    field: str
    code: str
    message: str


class SubmissionInvalid(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


# Evidence and StageEstimate are frozen dataclasses, not pydantic models: they are built many
# times per submission and never cross a process boundary, so they skip validation entirely.
@dataclass(frozen=True, slots=True)
class Evidence:
    """An answer that went into a stage estimate."""

    question_id: str
    prompt: str
    option_id: str
    label: str
    stage: int | None


@dataclass(frozen=True, slots=True)
class StageEstimate:
    slug: str
    stage: int | None
    confidence: Confidence
    evidence: tuple[Evidence, ...] = ()


class ConditionStatus(BaseModel):
    slug: str
    name: str
    strategy: str
    strategy_name: str
    stage: int | None
    stage_name: str
    confidence: Confidence
    rank: int


class Recommendation(BaseModel):
    rank: int
    slug: str
    name: str
    strategy: str
    current_stage: int | None
    current_stage_name: str
    confidence: Confidence
    focus: Focus
    # The content models themselves: a stored result keeps them as they were when scored.
    next_stage: ConditionStage | None
    reasons: list[str]
    early_adopter: EarlyAdopter | None
    early_adopter_note: str | None = None
    source_url: str


class RelatedRecommendation(BaseModel):
    slug: str
    name: str
    basis: str


class CommitmentFocus(BaseModel):
    slug: str
    name: str
    summary: str
    related_recommendations: list[RelatedRecommendation]


class Result(BaseModel):
    quiz_version: str
    scoring_version: str
    conditions: list[ConditionStatus]
    recommendations: list[Recommendation]
    commitments: list[CommitmentFocus]
    notes: list[str]
