"""From answers to a stage per condition and a ranked, explained "where to begin" list.

The rules, in plain words (docs/scoring.md has the long form):

* Stage of a condition: the lowest stage among the answers about it that name a stage. A stage
  counts as reached only when every sign of it we ask about is in place, so when all answers
  about a condition point to stage s the estimate is s. "I'm not sure" answers are set aside;
  if nothing else is known, the stage is unknown.
* Ranking: conditions with a known stage below Statewide Transformation come first, lowest stage
  first; then conditions whose stage is unknown ("confirm where your state stands"); then
  conditions already at Statewide Transformation ("sustain and improve"). Within each group the
  order in data/framework.yaml (`foundational_order`) breaks ties.

`Scorer` builds its look-up tables once from the content, so scoring a submission is a few
dictionary reads and one result model.
"""

from __future__ import annotations

from quiz import Framework, Quiz
from quiz.framework import Commitment, Condition, ConditionStage
from quiz.questions import Question
from scoring.models import (
    SCORING_VERSION,
    CommitmentFocus,
    ConditionStatus,
    Evidence,
    Focus,
    Problem,
    Recommendation,
    RelatedRecommendation,
    Result,
    StageEstimate,
    Submission,
    SubmissionInvalid,
)

TOP_STAGE = 3
DEFAULT_TOP = 3
RankKey = tuple[int, int, int]


def _quote(text: str) -> str:
    return f"\u201c{text.rstrip('.')}\u201d"


def _focus(stage: int | None) -> Focus:
    if stage is None:
        return "confirm"
    return "sustain" if stage >= TOP_STAGE else "advance"


def rank_key(estimate: StageEstimate, order: dict[str, int]) -> RankKey:
    """Sort key: (group, stage, position in the tie-break order). Lower sorts first."""
    if estimate.stage is None:
        group, stage = 1, 0
    elif estimate.stage >= TOP_STAGE:
        group, stage = 2, estimate.stage
    else:
        group, stage = 0, estimate.stage
    return group, stage, order[estimate.slug]


class Scorer:
    """Scores submissions against one framework and one quiz, with tables built once."""

    def __init__(self, framework: Framework, quiz: Quiz):
        self.framework = framework
        self.quiz = quiz
        self.conditions: dict[str, Condition] = {c.slug: c for c in framework.conditions}
        self.questions: dict[str, Question] = {q.id: q for q in quiz.questions}
        self.order = {p.slug: i for i, p in enumerate(framework.foundational_order)}
        self.rationale = {p.slug: p.rationale for p in framework.foundational_order}
        self.stage_names: dict[int | None, str] = {
            None: "Unknown",
            **{s.level: s.name for s in framework.stages},
        }
        strategy_names = {s.slug: s.name for s in framework.strategies}
        self.strategy_names = {c.slug: strategy_names[c.strategy] for c in framework.conditions}
        # Each possible answer as shared, immutable evidence: (condition slug, evidence).
        self.evidence: dict[tuple[str, str], tuple[str, Evidence]] = {
            (q.id, o.id): (q.condition, Evidence(q.id, q.prompt, o.id, o.label, o.stage))
            for q in quiz.questions
            for o in q.options
        }
        self.stages: dict[tuple[str, int], ConditionStage] = {
            (c.slug, s.level): s for c in framework.conditions for s in c.stages
        }
        self.context_options = {cq.id: {o.id for o in cq.options} for cq in quiz.context_questions}

    # --- the steps, in the order `score` runs them ------------------------------------------

    def validate(self, submission: Submission) -> None:
        """Raise `SubmissionInvalid` listing every problem, each naming its field."""
        problems: list[Problem] = []
        if submission.quiz_version != self.quiz.version:
            problems.append(
                Problem(
                    field="quiz_version",
                    code="quiz_version_mismatch",
                    message=f"this quiz is version '{self.quiz.version}', the submission says "
                    f"'{submission.quiz_version}'; reload the quiz and answer again",
                )
            )
        problems += self._answer_problems(submission)
        for field in ("state", "role"):
            value = getattr(submission.context, field)
            if value is not None and value not in self.context_options[field]:
                problems.append(
                    Problem(
                        field=f"context.{field}",
                        code=f"unknown_{field}",
                        message=f"'{value}' is not a known {field} code",
                    )
                )
        if problems:
            raise SubmissionInvalid(problems)

    def _answer_problems(self, submission: Submission) -> list[Problem]:
        problems: list[Problem] = []
        answered: dict[str, int] = {}
        for i, answer in enumerate(submission.answers):
            question = self.questions.get(answer.question_id)
            if question is None:
                problems.append(
                    Problem(
                        field=f"answers.{i}.question_id",
                        code="unknown_question",
                        message=f"no question with id '{answer.question_id}' in quiz version "
                        f"'{self.quiz.version}'",
                    )
                )
                continue
            if answer.question_id in answered:
                problems.append(
                    Problem(
                        field=f"answers.{i}.question_id",
                        code="duplicate_answer",
                        message=f"question '{answer.question_id}' is already answered at "
                        f"answers.{answered[answer.question_id]}",
                    )
                )
            else:
                answered[answer.question_id] = i
            if (answer.question_id, answer.option_id) not in self.evidence:
                options = ", ".join(o.id for o in question.options)
                problems.append(
                    Problem(
                        field=f"answers.{i}.option_id",
                        code="unknown_option",
                        message=f"question '{question.id}' has no option '{answer.option_id}' "
                        f"(options: {options})",
                    )
                )
        return problems

    def estimate(self, submission: Submission) -> list[StageEstimate]:
        """One estimate per condition, in the framework's order. Assumes a valid submission."""
        evidence: dict[str, list[Evidence]] = {}
        for answer in submission.answers:
            slug, answered = self.evidence[(answer.question_id, answer.option_id)]
            evidence.setdefault(slug, []).append(answered)
        estimates = []
        for slug in self.order:
            found = evidence.get(slug)
            if found is None:
                estimates.append(StageEstimate(slug, None, "unanswered"))
                continue
            known = [e.stage for e in found if e.stage is not None]
            if known:
                estimates.append(StageEstimate(slug, min(known), "answered", tuple(found)))
            else:
                estimates.append(StageEstimate(slug, None, "unsure", tuple(found)))
        return estimates

    def rank(self, estimates: list[StageEstimate]) -> list[StageEstimate]:
        """All conditions, in the order a state should tackle them."""
        return sorted(estimates, key=lambda e: rank_key(e, self.order))

    def score(self, submission: Submission, top: int = DEFAULT_TOP) -> Result:
        """Validate, estimate, rank and explain. `top` is how many recommendations carry detail."""
        self.validate(submission)
        estimates = self.estimate(submission)
        ranked = self.rank(estimates)
        rank_of = {e.slug: i for i, e in enumerate(ranked, start=1)}
        recommendations = self._recommendations(ranked[: max(1, min(top, len(ranked)))], ranked)
        return Result(
            quiz_version=self.quiz.version,
            scoring_version=SCORING_VERSION,
            conditions=[self._status(e, rank_of[e.slug]) for e in estimates],
            recommendations=recommendations,
            commitments=[self._commitment(c, recommendations) for c in self.framework.commitments],
            notes=list(self.framework.notes),
        )

    # --- pieces of the result ---------------------------------------------------------------

    def _status(self, estimate: StageEstimate, rank: int) -> ConditionStatus:
        condition = self.conditions[estimate.slug]
        return ConditionStatus(
            slug=condition.slug,
            name=condition.name,
            strategy=condition.strategy,
            strategy_name=self.strategy_names[condition.slug],
            stage=estimate.stage,
            stage_name=self.stage_names[estimate.stage],
            confidence=estimate.confidence,
            rank=rank,
        )

    def _recommendations(
        self, shown: list[StageEstimate], ranked: list[StageEstimate]
    ) -> list[Recommendation]:
        keys = [rank_key(e, self.order)[:2] for e in ranked]
        known = [e.stage for e in ranked if e.stage is not None]
        earliest = min(known) if known else None
        return [
            self._recommendation(
                e,
                rank=i,
                earliest=earliest,
                has_peers=keys.count(rank_key(e, self.order)[:2]) > 1,
            )
            for i, e in enumerate(shown, start=1)
        ]

    def _recommendation(
        self, estimate: StageEstimate, *, rank: int, earliest: int | None, has_peers: bool
    ) -> Recommendation:
        condition = self.conditions[estimate.slug]
        next_level = 1 if estimate.stage is None else estimate.stage + 1
        return Recommendation(
            rank=rank,
            slug=condition.slug,
            name=condition.name,
            strategy=condition.strategy,
            current_stage=estimate.stage,
            current_stage_name=self.stage_names[estimate.stage],
            confidence=estimate.confidence,
            focus=_focus(estimate.stage),
            next_stage=self.stages.get((condition.slug, next_level)),
            reasons=self._reasons(estimate, earliest=earliest, has_peers=has_peers),
            early_adopter=condition.early_adopter,
            early_adopter_note=condition.early_adopter_note,
            source_url=condition.source_url,
        )

    def _commitment(
        self, commitment: Commitment, recommendations: list[Recommendation]
    ) -> CommitmentFocus:
        recommended = {r.slug: r.name for r in recommendations}
        return CommitmentFocus(
            slug=commitment.slug,
            name=commitment.name,
            summary=commitment.summary,
            related_recommendations=[
                RelatedRecommendation(slug=rc.slug, name=recommended[rc.slug], basis=rc.basis)
                for rc in commitment.related_conditions
                if rc.slug in recommended
            ],
        )

    # --- explanations -----------------------------------------------------------------------

    def _reasons(
        self, estimate: StageEstimate, *, earliest: int | None, has_peers: bool
    ) -> list[str]:
        """Plain sentences: which answers produced the stage, and why the condition ranks here."""
        reasons = self._stage_reasons(estimate) + [self._position_reason(estimate, earliest)]
        if has_peers:
            reasons.append(
                "Among conditions in the same position, the framework's foundational order breaks "
                f"the tie: {self.rationale[estimate.slug]}"
            )
        return reasons

    def _stage_reasons(self, estimate: StageEstimate) -> list[str]:
        name = self.conditions[estimate.slug].name
        if estimate.confidence == "unsure":
            return [
                f"You were not sure where your state stands on {name}. Confirm where your state "
                "stands: the first-stage goal below is the milestone to check against."
            ]
        if estimate.confidence == "unanswered":
            return [
                f"You did not answer the question on {name}. Confirm where your state stands: "
                "the first-stage goal below is the milestone to check against."
            ]
        stage_name = self.stage_names[estimate.stage]
        reasons = [
            f"You told us {_quote(e.label)} when asked {_quote(e.prompt)}, so your state "
            f"is at {stage_name} ({estimate.stage} of 3) in {name}."
            for e in estimate.evidence
            if e.stage == estimate.stage
        ]
        current = estimate.stage if estimate.stage is not None else 0
        higher = [e for e in estimate.evidence if e.stage is not None and e.stage > current]
        if higher:
            reasons.append(
                f"Another answer pointed further along ({_quote(higher[0].label)}), but a stage "
                "counts as reached only when every sign of it is in place."
            )
        if any(e.stage is None for e in estimate.evidence):
            reasons.append(
                "You were not sure about one question on this condition; it was set aside."
            )
        return reasons

    def _position_reason(self, estimate: StageEstimate, earliest: int | None) -> str:
        if estimate.stage is None:
            return (
                "Conditions with an unknown stage rank after the ones you placed below Statewide "
                "Transformation, so your known gaps come first."
            )
        if estimate.stage >= TOP_STAGE:
            return (
                "Your state has reached Statewide Transformation here, so there is no next stage: "
                "sustain this work and keep improving it."
            )
        if estimate.stage == earliest:
            return (
                "Conditions where your state is earliest come first, and this is one of them "
                f"({self.stage_names[estimate.stage]})."
            )
        return "Conditions at an earlier stage come first; this one follows them."
