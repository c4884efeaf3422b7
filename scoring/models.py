"""Plain pydantic models in and out of scoring: a submission, stage estimates and the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from quiz.framework import ConditionStage, EarlyAdopter

SCORING_VERSION = "3.0"

Confidence = Literal["answered", "unsure", "unanswered"]
Focus = Literal["advance", "confirm", "sustain"]
# What put a recommendation where it is among the conditions it was tied with (docs/scoring.md).
# "sequence" is a fixed order of ours (scoring 2.0 only); "dependency" is readiness, waiting on
# another condition or unlocking others (3.0); "tie" is nothing at all: shown as equals (3.0).
OrderBasis = Literal["stage", "priority", "progress", "sequence", "dependency", "tie"]
# How the "Begin here" list reads: next steps, only conditions to confirm, or all finished.
Headline = Literal["begin", "confirm", "keep-going"]
ShortText = Annotated[str, StringConstraints(max_length=100)]


class _Input(BaseModel):
    # Extra fields are rejected: a partner's typo must not be silently ignored.
    model_config = ConfigDict(extra="forbid")


# A link kept as evidence: http or https, a host, then printable ASCII without spaces (what a
# browser's address bar copies). Spelled out so the OpenAPI document states exactly this rule.
EVIDENCE_LINK_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][!-~]*)?$"
EVIDENCE_MAX = 500


class AnswerEvidence(_Input):
    """What the respondent points to for an answer (a statute, board minutes, a report). Kept
    with the response and shown with its answers; never in aggregates, exports or webhooks."""

    note: Annotated[str, StringConstraints(max_length=EVIDENCE_MAX)] | None = None
    link: (
        Annotated[str, StringConstraints(max_length=EVIDENCE_MAX, pattern=EVIDENCE_LINK_PATTERN)]
        | None
    ) = None


class Answer(_Input):
    question_id: ShortText
    option_id: ShortText
    # Optional, and never read by scoring: the result is the same with or without it.
    evidence: AnswerEvidence | None = None


class SubmissionContext(_Input):
    state: ShortText | None = None
    role: ShortText | None = None

    @field_validator("state", "role", mode="before")
    @classmethod
    def _empty_is_not_given(cls, value: object) -> object:
        """An empty string means "not given", in the API as in the form's "Prefer not to say"."""
        return None if value == "" else value


class Submission(_Input):
    quiz_version: ShortText
    answers: list[Answer] = Field(default_factory=list, max_length=200)
    context: SubmissionContext = Field(default_factory=SubmissionContext)
    # Conditions the respondent says matter most now; they break ties at the same stage.
    priorities: list[ShortText] = Field(default_factory=list, max_length=20)
    partner: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] | None
    ) = None
    # Taken through a team's join link: the link's token (app/teams/service.py).
    team: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    # A what-if saved as a new response: the id of the response it started from.
    based_on: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22}$")] | None = None


class Problem(BaseModel):
    """One thing wrong with a submission, naming the offending field."""

    field: str
    code: str
    message: str


class SubmissionInvalid(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


# Evidence and StageEstimate are dataclasses, not pydantic models: they are built many times per
# submission and never cross a process boundary, so they skip validation entirely. Evidence is
# built once per option at start-up and frozen; a StageEstimate is built twelve times a scoring
# and not frozen, since a frozen dataclass's __init__ costs four times as much (3.6 against 0.9
# µs for eight fields; docs/performance.md, "Scoring"). Nothing changes one once it is built.
@dataclass(frozen=True, slots=True)
class Evidence:
    """An answer that went into a stage estimate."""

    question_id: str
    prompt: str
    option_id: str
    label: str
    stage: int | None
    progress: int = 0
    # The question's first staged option: what a state with nothing answers; never progress.
    floor: bool = False
    # The question cannot say "not yet started" (its first option is above stage 0): on its own
    # it cannot place the condition.
    partial: bool = False


@dataclass(slots=True)
class StageEstimate:
    slug: str
    stage: int | None
    confidence: Confidence
    evidence: tuple[Evidence, ...] = ()
    # How many answers already point past the stage: 0 is "just reached it".
    progress: int = 0


class ConditionStatus(BaseModel):
    slug: str
    name: str
    strategy: str
    strategy_name: str
    stage: int | None
    stage_name: str
    confidence: Confidence
    rank: int
    prioritized: bool = False


class Recommendation(BaseModel):
    rank: int
    slug: str
    name: str
    strategy: str
    current_stage: int | None
    current_stage_name: str
    confidence: Confidence
    focus: Focus
    prioritized: bool = False
    order_basis: OrderBasis = Field(
        description=(
            "What put it where it is among the conditions at its stage: `stage` (nothing "
            "else was needed), `priority`, `progress`, `dependency` (readiness: our reading "
            "of which steps build on which), `sequence` (scoring 2.0's order of ours) or `tie` "
            "(nothing separates them: shown as equals)."
        )
    )
    # The conditions it was ordered against on `order_basis` (none when that is "stage").
    tied_with: list[str] = Field(
        default=[],
        description=(
            "The slugs of the conditions it was ordered among on `order_basis`, before or "
            "after it; empty when `order_basis` is `stage`. They are its equals only when "
            "`order_basis` is `tie` (the name is kept for the clients that read it)."
        ),
    )
    # The content models themselves: a stored result keeps them as they were when scored.
    next_stage: ConditionStage | None
    # For a condition at Statewide Transformation: that stage, with its strategic question.
    current_stage_detail: ConditionStage | None = None
    reasons: list[str]
    early_adopter: EarlyAdopter | None
    early_adopter_note: str | None = None
    # The respondent's state is the framework's own example for this condition.
    early_adopter_is_respondent_state: bool = False
    source_url: str


class RelatedRecommendation(BaseModel):
    slug: str
    name: str
    basis: str
    # Every commitment-to-condition link is our reading; no source makes them.
    provenance: Literal["inferred"] = "inferred"


class ContradictoryAnswer(BaseModel):
    question_id: str
    prompt: str
    label: str
    stage: int
    stage_name: str


class Contradiction(BaseModel):
    """Answers about one condition that point two or more stages apart."""

    slug: str
    name: str
    answers: list[ContradictoryAnswer]
    message: str


class CheckFirst(BaseModel):
    """A condition whose stage is not known (scoring 3.0): a fact to confirm before the list,
    not a place to begin. `unlocks`: the conditions whose next step waits on it (our reading)."""

    slug: str
    name: str
    confidence: Confidence
    unlocks: list[str] = []
    message: str


class CommitmentFocus(BaseModel):
    slug: str
    name: str
    summary: str
    related_recommendations: list[RelatedRecommendation]


class ComputedCondition(BaseModel):
    """One condition as scoring placed it. Defaults are left out when stored."""

    slug: str
    stage: int | None
    confidence: Confidence = "answered"
    progress: int = 0
    rank: int
    order_basis: OrderBasis = "stage"


class Computed(BaseModel):
    """What scoring decided, and all a stored response keeps of its result (about 1 KB): the
    stage, rank and order basis of each condition, the priorities and the versions. With the
    answers, the respondent's state and the content version it was scored with,
    `Scorer.explain` turns it back into the full `Result`, sentence for sentence."""

    quiz_version: str
    scoring_version: str
    priorities: list[str] = []
    # In the framework's listing order.
    conditions: list[ComputedCondition]


class Result(BaseModel):
    quiz_version: str
    scoring_version: str
    priorities: list[str] = []
    conditions: list[ConditionStatus]
    recommendations: list[Recommendation]
    # The short list a reader should start with: conditions with a next step first, finished
    # ones only when nothing else is left. `headline` says which case it is.
    begin_here: list[str] = []
    headline: Headline = "begin"
    # Scoring 2.0: set when the top of the list was a tie only the suggested sequence decided.
    # Scoring 3.0: the note above "Begin here": equals at the top (or cut by it), and chosen
    # priorities that cannot move the list (waiting, unknown or finished), with why.
    tie_note: str | None = None
    # Scoring 3.0: conditions whose stage is unknown, to confirm before "Begin here" (rank
    # order). Left out of results of earlier versions, which never had it (stored byte for byte).
    check_first: list[CheckFirst] | None = Field(default=None, exclude_if=lambda v: v is None)
    contradictions: list[Contradiction] = []
    # Linked to the `begin_here` conditions only.
    commitments: list[CommitmentFocus]
    notes: list[str]
