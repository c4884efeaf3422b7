"""From answers to a stage per condition and a ranked, explained "where to begin" list.

The rules, in plain words (docs/scoring.md has the long form):

* Stage of a condition: the lowest stage among the answers about it that name a stage. A stage
  counts as reached only when every sign of it we ask about is in place, so when all answers
  about a condition point to stage s the estimate is s. "I'm not sure" answers are set aside;
  if nothing else is known, the stage is unknown.
* Ranking: conditions with a known stage below Statewide Transformation come first, lowest stage
  first; then conditions whose stage is unknown ("confirm where your state stands"); then
  conditions already at Statewide Transformation ("sustain and improve"). Within each group the
  framework's foundational order (data/framework.yaml) breaks ties.
"""

from __future__ import annotations

from dataclasses import dataclass

from quiz import Framework, Quiz
from quiz.framework import Condition
from quiz.questions import ContextQuestion, Option, Question
from scoring.models import (
    SCORING_VERSION,
    EarlyAdopterOut,
    Evidence,
    Focus,
    NextStage,
    Problem,
    Result,
    StageEstimate,
    Submission,
    SubmissionInvalid,
)

TOP_STAGE = 3
DEFAULT_TOP = 3


@dataclass(frozen=True)
class _Index:
    """Look-ups built once per (framework, quiz) so each scoring call is a few dict reads."""

    framework: Framework
    quiz: Quiz
    questions: dict[str, Question]
    questions_by_condition: dict[str, list[Question]]
    context: dict[str, ContextQuestion]
    conditions: dict[str, Condition]
    order: dict[str, int]
    rationale: dict[str, str]
    strategy_names: dict[str, str]
    options: dict[tuple[str, str], Option]
    # Each possible answer as shared, immutable evidence: (condition slug, evidence).
    evidence: dict[tuple[str, str], tuple[str, Evidence]]
    stage_names: dict[int | None, str]
    # Immutable output pieces, built once and shared by every result.
    next_stages: dict[tuple[str, int], NextStage]
    early_adopters: dict[str, EarlyAdopterOut | None]
    # The parts of a result row that depend only on the condition.
    condition_rows: dict[str, dict[str, str]]


_indexes: dict[tuple[int, int], _Index] = {}


def _index(framework: Framework, quiz: Quiz) -> _Index:
    key = (id(framework), id(quiz))
    index = _indexes.get(key)
    # The index keeps references to both objects, so their ids cannot be reused while cached.
    if index is None or index.framework is not framework or index.quiz is not quiz:
        by_condition: dict[str, list[Question]] = {c.slug: [] for c in framework.conditions}
        for q in quiz.questions:
            by_condition[q.condition].append(q)
        index = _Index(
            framework=framework,
            quiz=quiz,
            questions={q.id: q for q in quiz.questions},
            questions_by_condition=by_condition,
            context={q.id: q for q in quiz.context_questions},
            conditions={c.slug: c for c in framework.conditions},
            order={p.slug: i for i, p in enumerate(framework.foundational_order)},
            rationale={p.slug: p.rationale for p in framework.foundational_order},
            strategy_names={s.slug: s.name for s in framework.strategies},
            options={(q.id, o.id): o for q in quiz.questions for o in q.options},
            evidence={
                (q.id, o.id): (q.condition, Evidence(q.id, q.prompt, o.id, o.label, o.stage))
                for q in quiz.questions
                for o in q.options
            },
            stage_names={None: "Unknown", **{s.level: s.name for s in framework.stages}},
            next_stages={
                (c.slug, s.level): NextStage(
                    level=s.level,
                    name=s.name,
                    goal=s.goal,
                    actions=list(s.actions),
                    strategic_question=s.strategic_question,
                    provenance=s.provenance,
                    derived_fields=list(s.derived_fields),
                )
                for c in framework.conditions
                for s in c.stages
            },
            condition_rows={
                c.slug: {
                    "slug": c.slug,
                    "name": c.name,
                    "strategy": c.strategy,
                    "strategy_name": next(
                        s.name for s in framework.strategies if s.slug == c.strategy
                    ),
                }
                for c in framework.conditions
            },
            early_adopters={
                c.slug: EarlyAdopterOut(**c.early_adopter.model_dump()) if c.early_adopter else None
                for c in framework.conditions
            },
        )
        _indexes[key] = index
    return index


def validate_submission(submission: Submission, *, quiz: Quiz, framework: Framework) -> None:
    """Raise `SubmissionInvalid` listing every problem, each naming its field."""
    idx = _index(framework, quiz)
    problems: list[Problem] = []
    if submission.quiz_version != quiz.version:
        problems.append(
            Problem(
                field="quiz_version",
                code="quiz_version_mismatch",
                message=f"this quiz is version '{quiz.version}', the submission says '{submission.quiz_version}'; reload the quiz and answer again",
            )
        )
    answered: dict[str, int] = {}
    for i, answer in enumerate(submission.answers):
        question = idx.questions.get(answer.question_id)
        if question is None:
            problems.append(
                Problem(
                    field=f"answers.{i}.question_id",
                    code="unknown_question",
                    message=f"no question with id '{answer.question_id}' in quiz version '{quiz.version}'",
                )
            )
            continue
        if answer.question_id in answered:
            problems.append(
                Problem(
                    field=f"answers.{i}.question_id",
                    code="duplicate_answer",
                    message=f"question '{answer.question_id}' is already answered at answers.{answered[answer.question_id]}",
                )
            )
        else:
            answered[answer.question_id] = i
        if (answer.question_id, answer.option_id) not in idx.options:
            problems.append(
                Problem(
                    field=f"answers.{i}.option_id",
                    code="unknown_option",
                    message=f"question '{question.id}' has no option '{answer.option_id}' (options: {', '.join(o.id for o in question.options)})",
                )
            )
    for field in ("state", "role"):
        value = getattr(submission.context, field)
        if value is not None and idx.context[field].option(value) is None:
            problems.append(
                Problem(
                    field=f"context.{field}",
                    code=f"unknown_{field}",
                    message=f"'{value}' is not a known {field} code",
                )
            )
    if problems:
        raise SubmissionInvalid(problems)


def estimate_stages(
    submission: Submission, *, quiz: Quiz, framework: Framework
) -> list[StageEstimate]:
    """One estimate per condition, in the framework's order. Assumes a validated submission."""
    idx = _index(framework, quiz)
    evidence: dict[str, list[Evidence]] = {}
    for answer in submission.answers:
        slug, found = idx.evidence[(answer.question_id, answer.option_id)]  # validated before
        evidence.setdefault(slug, []).append(found)
    estimates = []
    for slug in idx.order:  # the framework's order
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


def rank_key(estimate: StageEstimate, order: dict[str, int]) -> tuple[int, int, int]:
    """Sort key: (group, stage, foundational position). Lower sorts first."""
    if estimate.stage is None:
        group, stage = 1, 0
    elif estimate.stage >= TOP_STAGE:
        group, stage = 2, estimate.stage
    else:
        group, stage = 0, estimate.stage
    return group, stage, order[estimate.slug]


def rank_conditions(
    estimates: list[StageEstimate], *, framework: Framework, quiz: Quiz
) -> list[StageEstimate]:
    """All conditions, in the order a state should tackle them."""
    order = _index(framework, quiz).order
    return sorted(estimates, key=lambda e: rank_key(e, order))


def _quote(text: str) -> str:
    return f"\u201c{text.rstrip('.')}\u201d"


def _reasons(
    estimate: StageEstimate, *, earliest: int | None, has_peers: bool, idx: _Index
) -> list[str]:
    """Plain sentences: which answers produced the stage, and why the condition ranks here."""
    name = idx.conditions[estimate.slug].name
    reasons: list[str] = []
    if estimate.confidence == "answered":
        stage_name = idx.stage_names[estimate.stage]
        for e in estimate.evidence:
            if e.stage == estimate.stage:
                reasons.append(
                    f"You told us {_quote(e.label)} when asked {_quote(e.prompt)}, so your state "
                    f"is at {stage_name} ({estimate.stage} of 3) in {name}."
                )
        higher = [e for e in estimate.evidence if e.stage is not None and e.stage > estimate.stage]  # type: ignore[operator]
        if higher:
            reasons.append(
                f"Another answer pointed further along ({_quote(higher[0].label)}), but a stage "
                "counts as reached only when every sign of it is in place."
            )
        if any(e.stage is None for e in estimate.evidence):
            reasons.append(
                "You were not sure about one question on this condition; it was set aside."
            )
    elif estimate.confidence == "unsure":
        reasons.append(
            f"You were not sure where your state stands on {name}. Confirm where your state "
            "stands: the first-stage goal below is the milestone to check against."
        )
    else:
        reasons.append(
            f"You did not answer the question on {name}. Confirm where your state stands: the "
            "first-stage goal below is the milestone to check against."
        )

    if estimate.stage is None:
        reasons.append(
            "Conditions with an unknown stage rank after the ones you placed below Statewide "
            "Transformation, so your known gaps come first."
        )
    elif estimate.stage >= TOP_STAGE:
        reasons.append(
            "Your state has reached Statewide Transformation here, so there is no next stage: "
            "sustain this work and keep improving it."
        )
    elif estimate.stage == earliest:
        reasons.append(
            "Conditions where your state is earliest come first, and this is one of them "
            f"({idx.stage_names[estimate.stage]})."
        )
    else:
        reasons.append("Conditions at an earlier stage come first; this one follows them.")

    if has_peers:
        reasons.append(
            "Among conditions in the same position, the framework's foundational order breaks "
            f"the tie: {idx.rationale[estimate.slug]}"
        )
    return reasons


def _focus(stage: int | None) -> Focus:
    if stage is None:
        return "confirm"
    return "sustain" if stage >= TOP_STAGE else "advance"


def build_result(
    submission: Submission, *, quiz: Quiz, framework: Framework, top: int = DEFAULT_TOP
) -> Result:
    """Validate, estimate, rank and explain. `top` is how many recommendations carry detail."""
    validate_submission(submission, quiz=quiz, framework=framework)
    idx = _index(framework, quiz)
    estimates = estimate_stages(submission, quiz=quiz, framework=framework)
    keys = {e.slug: rank_key(e, idx.order) for e in estimates}
    ranked = sorted(estimates, key=lambda e: keys[e.slug])
    rank_of = {e.slug: i + 1 for i, e in enumerate(ranked)}
    group_sizes: dict[tuple[int, int], int] = {}
    for k in keys.values():
        group_sizes[k[:2]] = group_sizes.get(k[:2], 0) + 1
    known = [e.stage for e in estimates if e.stage is not None]
    earliest = min(known) if known else None
    top = max(1, min(top, len(ranked)))

    conditions = [
        {
            **idx.condition_rows[e.slug],
            "stage": e.stage,
            "stage_name": idx.stage_names[e.stage],
            "confidence": e.confidence,
            "rank": rank_of[e.slug],
        }
        for e in estimates
    ]
    recommendations = []
    for i, e in enumerate(ranked[:top]):
        condition = idx.conditions[e.slug]
        next_level = 1 if e.stage is None else e.stage + 1
        recommendations.append(
            {
                "rank": i + 1,
                "slug": e.slug,
                "name": condition.name,
                "strategy": condition.strategy,
                "current_stage": e.stage,
                "current_stage_name": idx.stage_names[e.stage],
                "confidence": e.confidence,
                "focus": _focus(e.stage),
                "next_stage": idx.next_stages.get((e.slug, next_level)),
                "reasons": _reasons(
                    e, earliest=earliest, has_peers=group_sizes[keys[e.slug][:2]] > 1, idx=idx
                ),
                "early_adopter": idx.early_adopters[e.slug],
                "early_adopter_note": condition.early_adopter_note,
                "source_url": condition.source_url,
            }
        )
    recommended = {r["slug"]: r["name"] for r in recommendations}
    commitments = [
        {
            "slug": c.slug,
            "name": c.name,
            "summary": c.summary,
            "related_recommendations": [
                {"slug": rc.slug, "name": recommended[rc.slug], "basis": rc.basis}
                for rc in c.related_conditions
                if rc.slug in recommended
            ],
        }
        for c in framework.commitments
    ]
    # One validation pass in pydantic-core over plain dicts is faster than building each
    # nested model in Python, and still checks the result against its schema.
    return Result.model_validate(
        {
            "quiz_version": quiz.version,
            "scoring_version": SCORING_VERSION,
            "conditions": conditions,
            "recommendations": recommendations,
            "commitments": commitments,
            "notes": framework.notes,
        }
    )
