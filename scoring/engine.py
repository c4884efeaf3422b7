"""From answers to a stage per condition and a ranked, explained "where to begin" list.

The rules, in plain words (docs/scoring.md has the long form):

* Stage of a condition: the lowest stage among the answers about it that name a stage. A stage
  counts as reached only when every sign of it we ask about is in place. "I'm not sure" answers
  are set aside; if nothing else is known, the stage is unknown. Answers about one condition that
  lie two or more stages apart are reported as a contradiction.
* Ranking, first rule first:
  1. known stages below Statewide Transformation, lowest first; then unknown stages ("confirm
     where your state stands"); then Statewide Transformation ("sustain and improve");
  2. at the same stage, the respondent's priorities first;
  3. then less progress first: a condition that has just reached its stage comes before one
     where some answer names a further step within it or points past it;
  4. only then a suggested sequence, which is ours (data/framework.yaml, `suggested_sequence`).
  Each recommendation says which rule placed it (`order_basis`) and against which conditions.

`Scorer` builds its look-up tables once from the content, so scoring a submission is a few
dictionary reads and one result model.
"""

from __future__ import annotations

from typing import Any

from quiz import Framework, Quiz
from quiz.framework import Commitment, Condition, ConditionStage
from quiz.questions import Question
from scoring.models import (
    SCORING_VERSION,
    Answer,
    Computed,
    Evidence,
    Focus,
    Headline,
    OrderBasis,
    Problem,
    Result,
    StageEstimate,
    Submission,
    SubmissionInvalid,
)

TOP_STAGE = 3
DEFAULT_TOP = 3
BEGIN_HERE = 3
# Answers this many stages apart about one condition are reported as a contradiction.
CONTRADICTION_GAP = 2
RankKey = tuple[int, int, int, int, int]
# A piece of a result (a condition's status, a recommendation...) before `Result` validates it.
Piece = dict[str, Any]
# A condition's rank, the rule that placed it there and the conditions that rule ruled on (None
# when read back from storage: recomputed when needed); Placements holds them by slug.
Placement = tuple[int, OrderBasis, list[str] | None]
Placements = dict[str, Placement]


def _quote(text: str) -> str:
    return f"\u201c{text.rstrip('.')}\u201d"


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _focus(stage: int | None) -> Focus:
    if stage is None:
        return "confirm"
    return "sustain" if stage >= TOP_STAGE else "advance"


def stage_group(estimate: StageEstimate) -> tuple[int, int]:
    """(group, stage): known gaps (0), unknown (1), Statewide Transformation (2)."""
    if estimate.stage is None:
        return 1, 0
    if estimate.stage >= TOP_STAGE:
        return 2, estimate.stage
    return 0, estimate.stage


def _peers_by_stage(ranked: list[StageEstimate]) -> dict[tuple[int, int], list[StageEstimate]]:
    """The conditions at each stage (group and stage), in rank order."""
    peers: dict[tuple[int, int], list[StageEstimate]] = {}
    for estimate in ranked:
        peers.setdefault(stage_group(estimate), []).append(estimate)
    return peers


def order_basis(
    estimate: StageEstimate, peers: list[StageEstimate], priorities: set[str]
) -> tuple[OrderBasis, list[str]]:
    """Which rule separates `estimate` from the others at its stage (`peers`), and from which.

    The first tie-breaker on which it differs from every remaining peer decides: alone at its
    stage -> "stage"; alone in being (or not being) a priority -> "priority"; alone in its
    progress among those -> "progress"; otherwise the suggested sequence."""
    others = [p for p in peers if p.slug != estimate.slug]
    if not others:
        return "stage", []
    chosen = estimate.slug in priorities
    same_priority = [p for p in others if (p.slug in priorities) == chosen]
    if not same_priority:
        return "priority", [p.slug for p in others]
    same_progress = [p for p in same_priority if p.progress == estimate.progress]
    if not same_progress:
        return "progress", [p.slug for p in same_priority]
    return "sequence", [p.slug for p in same_progress]


class Scorer:
    """Scores submissions against one framework and one quiz, with tables built once."""

    def __init__(self, framework: Framework, quiz: Quiz):
        self.framework = framework
        self.quiz = quiz
        self.conditions: dict[str, Condition] = {c.slug: c for c in framework.conditions}
        self.questions: dict[str, Question] = {q.id: q for q in quiz.questions}
        self.question_position = {q.id: i for i, q in enumerate(quiz.questions)}
        self.sequence = {s.slug: i for i, s in enumerate(framework.suggested_sequence.steps)}
        self.sequence_basis = {s.slug: s.basis for s in framework.suggested_sequence.steps}
        self.stage_names: dict[int | None, str] = {
            None: "Unknown",
            **{s.level: s.name for s in framework.stages},
        }
        strategy_names = {s.slug: s.name for s in framework.strategies}
        self.strategy_names = {c.slug: strategy_names[c.strategy] for c in framework.conditions}
        # Each possible answer as shared, immutable evidence: (condition slug, evidence).
        self.evidence: dict[tuple[str, str], tuple[str, Evidence]] = {
            (q.id, o.id): (
                q.condition,
                Evidence(q.id, q.prompt, o.id, o.label, o.stage, o.progress),
            )
            for q in quiz.questions
            for o in q.options
        }
        self.stages: dict[tuple[str, int], ConditionStage] = {
            (c.slug, s.level): s for c in framework.conditions for s in c.stages
        }
        self.context_options = {cq.id: {o.id for o in cq.options} for cq in quiz.context_questions}
        # The parts of a condition's status that never change, built once.
        self.status_base: dict[str, Piece] = {
            c.slug: {
                "slug": c.slug,
                "name": c.name,
                "strategy": c.strategy,
                "strategy_name": self.strategy_names[c.slug],
            }
            for c in framework.conditions
        }
        # Commitments depend only on which conditions are in "Begin here": a few dozen lists.
        self._commitments: dict[tuple[str, ...], list[Piece]] = {}

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
        problems += self._priority_problems(submission)
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

    def _priority_problems(self, submission: Submission) -> list[Problem]:
        problems: list[Problem] = []
        limit = self.quiz.priorities.max_choices
        if len(submission.priorities) > limit:
            problems.append(
                Problem(
                    field="priorities",
                    code="too_many_priorities",
                    message=f"choose at most {limit} priorities, not {len(submission.priorities)}",
                )
            )
        seen: set[str] = set()
        for i, slug in enumerate(submission.priorities):
            if slug not in self.conditions:
                problems.append(
                    Problem(
                        field=f"priorities.{i}",
                        code="unknown_condition",
                        message=f"no condition with slug '{slug}'",
                    )
                )
            elif slug in seen:
                problems.append(
                    Problem(
                        field=f"priorities.{i}",
                        code="duplicate_priority",
                        message=f"'{slug}' is already chosen",
                    )
                )
            seen.add(slug)
        return problems

    def evidence_by_condition(self, answers: list[Answer]) -> dict[str, list[Evidence]]:
        """The answers as evidence, per condition, in the quiz's question order."""
        evidence: dict[str, list[Evidence]] = {}
        for answer in answers:
            slug, answered = self.evidence[(answer.question_id, answer.option_id)]
            evidence.setdefault(slug, []).append(answered)
        for found in evidence.values():
            found.sort(key=lambda e: self.question_position[e.question_id])
        return evidence

    def estimate(self, submission: Submission) -> list[StageEstimate]:
        """One estimate per condition, in listing order. Assumes a valid submission."""
        evidence = self.evidence_by_condition(submission.answers)
        estimates = []
        for slug in self.conditions:
            found = evidence.get(slug)
            if found is None:
                estimates.append(StageEstimate(slug, None, "unanswered"))
                continue
            known = [e.stage for e in found if e.stage is not None]
            if not known:
                estimates.append(StageEstimate(slug, None, "unsure", tuple(found)))
                continue
            stage = min(known)
            # Signs beyond "just reached the stage": answers pointing past it, and answers at
            # it that name a further step within it.
            progress = sum(
                1 if e.stage > stage else e.progress for e in found if e.stage is not None
            )
            estimates.append(StageEstimate(slug, stage, "answered", tuple(found), progress))
        return estimates

    def rank_key(self, estimate: StageEstimate, priorities: set[str]) -> RankKey:
        """Lower sorts first: stage group and stage, priority, progress, suggested sequence."""
        group, stage = stage_group(estimate)
        chosen = 0 if estimate.slug in priorities else 1
        return group, stage, chosen, estimate.progress, self.sequence[estimate.slug]

    def rank(
        self, estimates: list[StageEstimate], priorities: set[str] | frozenset[str] = frozenset()
    ) -> list[StageEstimate]:
        """All conditions, in the order a state should tackle them."""
        chosen = set(priorities)
        return sorted(estimates, key=lambda e: self.rank_key(e, chosen))

    def compute(self, submission: Submission) -> Computed:
        """Validate, estimate and rank: every decision, without a word of explanation."""
        estimates, placed, _ = self._decide(submission)
        return self._computed(submission, estimates, placed)

    def explain(
        self,
        computed: Computed,
        answers: list[Answer],
        state: str | None = None,
        top: int | None = None,
    ) -> Result:
        """The full result of `computed`, in the words of this scorer's content: stage map,
        recommendations with reasons, "Begin here", commitments. `answers` are the ones scored
        (for the evidence quoted in reasons); `top` limits the recommendations (all by default)."""
        evidence = self.evidence_by_condition(answers)
        estimates = [
            StageEstimate(
                c.slug, c.stage, c.confidence, tuple(evidence.get(c.slug, ())), c.progress
            )
            for c in computed.conditions
        ]
        placed: Placements = {c.slug: (c.rank, c.order_basis, None) for c in computed.conditions}
        versions = (computed.quiz_version, computed.scoring_version)
        return self._explain(estimates, placed, computed.priorities, versions, state, top)

    def score(self, submission: Submission, top: int = DEFAULT_TOP) -> Result:
        """Compute and explain. `top` is how many recommendations carry detail."""
        estimates, placed, ranked = self._decide(submission)
        versions = (self.quiz.version, SCORING_VERSION)
        state = submission.context.state
        chosen = submission.priorities
        return self._explain(estimates, placed, chosen, versions, state, top, ranked)

    def compute_and_explain(self, submission: Submission) -> tuple[Computed, Result]:
        """Both at once, deciding once: what to store, and the whole result to answer with."""
        estimates, placed, ranked = self._decide(submission)
        versions = (self.quiz.version, SCORING_VERSION)
        state = submission.context.state
        chosen = submission.priorities
        result = self._explain(estimates, placed, chosen, versions, state, None, ranked)
        return self._computed(submission, estimates, placed), result

    def _decide(
        self, submission: Submission
    ) -> tuple[list[StageEstimate], Placements, list[StageEstimate]]:
        """Estimates in listing order, each condition's rank and order basis, and the ranking."""
        self.validate(submission)
        priorities = set(submission.priorities)
        estimates = self.estimate(submission)
        ranked = self.rank(estimates, priorities)
        peers = _peers_by_stage(ranked)
        placed: Placements = {}
        for rank, e in enumerate(ranked, start=1):
            basis, tied_with = order_basis(e, peers[stage_group(e)], priorities)
            placed[e.slug] = (rank, basis, tied_with)
        return estimates, placed, ranked

    def _computed(
        self, submission: Submission, estimates: list[StageEstimate], placed: Placements
    ) -> Computed:
        # One validation of the whole tree (pydantic's fastest path for a fresh model).
        return Computed.model_validate(
            {
                "quiz_version": self.quiz.version,
                "scoring_version": SCORING_VERSION,
                "priorities": list(submission.priorities),
                "conditions": [
                    {
                        "slug": e.slug,
                        "stage": e.stage,
                        "confidence": e.confidence,
                        "progress": e.progress,
                        "rank": placed[e.slug][0],
                        "order_basis": placed[e.slug][1],
                    }
                    for e in estimates
                ],
            }
        )

    def _explain(
        self,
        estimates: list[StageEstimate],
        placed: Placements,
        chosen: list[str],
        versions: tuple[str, str],
        state: str | None,
        top: int | None,
        ranked: list[StageEstimate] | None = None,
    ) -> Result:
        priorities = set(chosen)
        if ranked is None:
            ranked = sorted(estimates, key=lambda e: placed[e.slug][0])
        peers = _peers_by_stage(ranked)
        shown = ranked[: max(1, min(top or len(ranked), len(ranked)))]
        recommendations = [
            self._recommendation(
                e, placed[e.slug], peers[stage_group(e)], ranked, priorities, state
            )
            for e in shown
        ]
        begin_here = self._begin_here(ranked)
        return Result.model_validate(
            {
                "quiz_version": versions[0],
                "scoring_version": versions[1],
                "priorities": list(chosen),
                "conditions": [self._status(e, placed[e.slug][0], priorities) for e in estimates],
                "recommendations": recommendations,
                "begin_here": [e.slug for e in begin_here],
                "headline": self._headline(begin_here),
                "tie_note": self._tie_note(ranked[0], placed[ranked[0].slug], peers, priorities),
                "contradictions": [c for e in estimates if (c := self._contradiction(e))],
                "commitments": self._commitments_for(begin_here),
                "notes": list(self.framework.notes),
            }
        )

    # --- pieces of the result ---------------------------------------------------------------

    # The pieces are plain dicts, validated once as a whole `Result`: one call into pydantic's
    # core instead of one per piece (scoring's largest cost before).

    def _status(self, estimate: StageEstimate, rank: int, priorities: set[str]) -> Piece:
        return {
            **self.status_base[estimate.slug],
            "stage": estimate.stage,
            "stage_name": self.stage_names[estimate.stage],
            "confidence": estimate.confidence,
            "rank": rank,
            "prioritized": estimate.slug in priorities,
        }

    def _commitments_for(self, begin_here: list[StageEstimate]) -> list[Piece]:
        key = tuple(sorted(e.slug for e in begin_here))
        found = self._commitments.get(key)
        if found is None:
            shown = set(key)
            found = [self._commitment(c, shown) for c in self.framework.commitments]
            self._commitments[key] = found
        return found

    def _recommendation(
        self,
        estimate: StageEstimate,
        placed: Placement,
        peers: list[StageEstimate],
        ranked: list[StageEstimate],
        priorities: set[str],
        state: str | None,
    ) -> Piece:
        condition = self.conditions[estimate.slug]
        rank, basis, tied_with = placed
        if tied_with is None:  # read back from storage: the conditions it was ordered against
            tied_with = order_basis(estimate, peers, priorities)[1]
        next_level = 1 if estimate.stage is None else estimate.stage + 1
        adopter = condition.early_adopter
        return {
            "rank": rank,
            "slug": condition.slug,
            "name": condition.name,
            "strategy": condition.strategy,
            "current_stage": estimate.stage,
            "current_stage_name": self.stage_names[estimate.stage],
            "confidence": estimate.confidence,
            "focus": _focus(estimate.stage),
            "prioritized": condition.slug in priorities,
            "order_basis": basis,
            "tied_with": tied_with,
            "next_stage": self.stages.get((condition.slug, next_level)),
            "current_stage_detail": self.stages.get((condition.slug, TOP_STAGE))
            if estimate.stage == TOP_STAGE
            else None,
            "reasons": self._reasons(estimate, ranked, basis, tied_with, priorities),
            "early_adopter": adopter,
            "early_adopter_note": condition.early_adopter_note,
            "early_adopter_is_respondent_state": adopter is not None and adopter.state == state,
            "source_url": condition.source_url,
        }

    def _begin_here(self, ranked: list[StageEstimate]) -> list[StageEstimate]:
        """Conditions with a next step; finished ones only when nothing else is left."""
        open_ = [e for e in ranked if _focus(e.stage) != "sustain"]
        return (open_ or ranked)[:BEGIN_HERE]

    def _headline(self, begin_here: list[StageEstimate]) -> Headline:
        focuses = {_focus(e.stage) for e in begin_here}
        if focuses == {"sustain"}:
            return "keep-going"
        if focuses == {"confirm"}:
            return "confirm"
        return "begin"

    def _tie_note(
        self,
        first: StageEstimate,
        placed: Placement,
        peers: dict[tuple[int, int], list[StageEstimate]],
        priorities: set[str],
    ) -> str | None:
        if placed[1] != "sequence":
            return None
        tied = placed[2]
        if tied is None:
            tied = order_basis(first, peers[stage_group(first)], priorities)[1]
        names = _names([self.conditions[s].name for s in [first.slug, *tied]])
        return (
            f"Your answers put {names} in the same position, and nothing in them decides which "
            "comes first. We ordered them by a suggested sequence of our own, adapted from a "
            "Getting Smart article; the framework itself sets no order. Choose your priorities "
            "to put them in your own order."
        )

    def _contradiction(self, estimate: StageEstimate) -> Piece | None:
        if len(estimate.evidence) < 2:
            return None
        known = [e for e in estimate.evidence if e.stage is not None]
        stages = [e.stage for e in known if e.stage is not None]
        if not stages or max(stages) - min(stages) < CONTRADICTION_GAP:
            return None
        name = self.conditions[estimate.slug].name
        answers = [
            {
                "question_id": e.question_id,
                "prompt": e.prompt,
                "label": e.label,
                "stage": e.stage,
                "stage_name": self.stage_names[e.stage],
            }
            for e in known
            if e.stage is not None
        ]
        listed = "; ".join(f"{_quote(e.label)} ({self.stage_names[e.stage]})" for e in known)
        return {
            "slug": estimate.slug,
            "name": name,
            "answers": answers,
            "message": f"Your answers about {name} point to different stages: {listed}. We "
            "used the lower one. Check with a colleague which is right.",
        }

    def _commitment(self, commitment: Commitment, shown: set[str]) -> Piece:
        return {
            "slug": commitment.slug,
            "name": commitment.name,
            "summary": commitment.summary,
            "related_recommendations": [
                {"slug": rc.slug, "name": self.conditions[rc.slug].name, "basis": rc.basis}
                for rc in commitment.related_conditions
                if rc.slug in shown
            ],
        }

    # --- explanations -----------------------------------------------------------------------

    def _reasons(
        self,
        estimate: StageEstimate,
        ranked: list[StageEstimate],
        basis: OrderBasis,
        tied_with: list[str],
        priorities: set[str],
    ) -> list[str]:
        """Plain sentences: which answers produced the stage, and why the condition ranks here."""
        reasons = self._stage_reasons(estimate)
        reasons.append(self._position_reason(estimate, ranked))
        if basis != "stage":
            reasons.append(self._tie_reason(estimate, basis, tied_with, priorities))
        return reasons

    def _stage_reasons(self, estimate: StageEstimate) -> list[str]:
        name = self.conditions[estimate.slug].name
        if estimate.confidence == "unsure":
            return [
                f"You were not sure where your state stands on {name}. Confirm where it stands: "
                "the first-stage goal below is the milestone to check against."
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
                f"Another answer points further along ({_quote(higher[0].label)}), but a stage "
                "counts as reached only when every sign of it is in place."
            )
        if any(e.stage is None for e in estimate.evidence):
            reasons.append(
                "You were not sure about one question on this condition; it was set aside."
            )
        return reasons

    def _position_reason(self, estimate: StageEstimate, ranked: list[StageEstimate]) -> str:
        known_gaps = [e.stage for e in ranked if e.stage is not None and e.stage < TOP_STAGE]
        if estimate.stage is None:
            if known_gaps:
                return (
                    "Conditions you placed below Statewide Transformation come first; this one "
                    "follows them because its stage is not known yet."
                )
            return (
                "You placed no condition below Statewide Transformation, so confirming where "
                "your state stands on the unknown ones comes first."
            )
        if estimate.stage >= TOP_STAGE:
            return (
                "Your state has reached Statewide Transformation here, so there is no next stage: "
                "sustain this work and keep improving it."
            )
        if estimate.stage == min(known_gaps):
            return (
                "Conditions where your state is earliest come first, and this is one of them "
                f"({self.stage_names[estimate.stage]})."
            )
        return "Conditions at an earlier stage come first; this one follows them."

    def _tie_reason(
        self, estimate: StageEstimate, basis: OrderBasis, tied_with: list[str], priorities: set[str]
    ) -> str:
        others = _names([self.conditions[s].name for s in tied_with])
        verb = "is" if len(tied_with) == 1 else "are"
        if basis == "priority":
            if estimate.slug in priorities:
                return f"You chose it as a priority, so it comes before {others}, which {verb} at the same stage."
            return f"{others} {verb} at the same stage and among your priorities, so {'it comes' if len(tied_with) == 1 else 'they come'} first."
        if basis == "progress":
            if estimate.progress == 0:
                return (
                    f"{others} {verb} at the same stage, but your answers there show a further "
                    "step already taken; here you have just reached the stage, so this one "
                    "comes first."
                )
            return (
                f"{others} {verb} at the same stage with no further step taken yet, while your "
                "answers here show one, so this one follows."
            )
        return (
            f"{others} {verb} in the same position, and nothing in your answers or priorities "
            "separates them, so we ordered them by a suggested sequence of our own (the "
            f"framework sets no order). {self.sequence_basis[estimate.slug]}"
        )
