"""The scorer: from a submission to what scoring decided (`Computed`) and to the explained
`Result`. It validates; the decisions (stage estimate, ranking, order basis, ties) live in
`scoring/decisions.py` and the wording in `scoring/explain.py`, each chosen by scoring version:
a new submission is decided and worded by the current version (`SCORING_VERSION`), a stored
result by the version stored on it, so it reads exactly as it did when it was computed.

`Scorer` builds its look-up tables once from the content, so scoring a submission is a few
dictionary reads and one result model.
"""

from __future__ import annotations

from dataclasses import replace

from quiz import Framework, Quiz
from scoring.decisions import Placed, Ranking, Standing, estimate, ranking_for
from scoring.explain import Explainer, explainer_class
from scoring.models import (
    SCORING_VERSION,
    Answer,
    Computed,
    Evidence,
    Problem,
    Result,
    StageEstimate,
    Submission,
    SubmissionInvalid,
)
from scoring.tables import Piece, Tables

DEFAULT_TOP = 3


class Scorer(Tables):
    """Scores submissions against one framework and one quiz, with tables built once."""

    def __init__(self, framework: Framework, quiz: Quiz):
        super().__init__(framework, quiz)
        self._rankings: dict[str, Ranking] = {}
        self._explainers: dict[str, Explainer] = {}

    def ranking(self, scoring_version: str = SCORING_VERSION) -> Ranking:
        found = self._rankings.get(scoring_version)
        if found is None:
            found = self._rankings[scoring_version] = ranking_for(scoring_version, self)
        return found

    def explainer(self, scoring_version: str = SCORING_VERSION) -> Explainer:
        found = self._explainers.get(scoring_version)
        if found is None:
            found = explainer_class(scoring_version)(self)
            self._explainers[scoring_version] = found
        return found

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
        position = self.question_position
        # One sort of the answers, not one per condition (answers mostly come in question
        # order already, which Python's sort passes through in one scan).
        for answer in sorted(answers, key=lambda a: position[a.question_id]):
            slug, answered = self.evidence[(answer.question_id, answer.option_id)]
            evidence.setdefault(slug, []).append(answered)
        return evidence

    def estimate(self, submission: Submission) -> list[StageEstimate]:
        """One estimate per condition, in listing order. Assumes a valid submission."""
        return estimate(self.conditions, self.evidence_by_condition(submission.answers))

    def place(
        self,
        estimates: list[StageEstimate],
        priorities: list[str],
        scoring_version: str = SCORING_VERSION,
    ) -> dict[str, Placed]:
        """Each condition's place under the ranking rules of `scoring_version`, by slug."""
        chosen = set(priorities)
        standings = [
            Standing(e.slug, e.stage, e.progress, 1 if e.slug in chosen else 0) for e in estimates
        ]
        return {p.slug: p for p in self.ranking(scoring_version).rank(standings)}

    def compute(self, submission: Submission) -> Computed:
        """Validate, estimate and rank: every decision, without a word of explanation."""
        estimates, placed = self._decide(submission)
        return self._computed(submission, estimates, placed)

    def explain(
        self,
        computed: Computed,
        answers: list[Answer],
        state: str | None = None,
        top: int | None = None,
    ) -> Result:
        """The full result of `computed`, in the words of the scoring version stored on it and
        of this scorer's content: stage map, recommendations with reasons, "Begin here",
        commitments. `answers` are the ones scored (for the evidence quoted in reasons); `top`
        limits the recommendations (all by default)."""
        return Result.model_validate(self.explained(computed, answers, state, top))

    def explained(
        self,
        computed: Computed,
        answers: list[Answer],
        state: str | None = None,
        top: int | None = None,
    ) -> Piece:
        """`explain` as JSON values (`Explainer.explained`): what a stored result is read as."""
        version = computed.scoring_version
        evidence = self.evidence_by_condition(answers)
        estimates = [
            StageEstimate(
                c.slug, c.stage, c.confidence, tuple(evidence.get(c.slug, ())), c.progress
            )
            for c in computed.conditions
        ]
        # The stored rank and basis are what was decided; what they were decided against is
        # recomputed by the same version's rules.
        again = self.place(estimates, computed.priorities, version)
        placed = {
            c.slug: replace(again[c.slug], rank=c.rank, basis=c.order_basis)
            for c in computed.conditions
        }
        return self.explainer(version).explained(
            estimates, placed, computed.priorities, computed.quiz_version, state, top
        )

    def score(self, submission: Submission, top: int = DEFAULT_TOP) -> Result:
        """Compute and explain. `top` is how many recommendations carry detail."""
        estimates, placed = self._decide(submission)
        return self.explainer().explain(
            estimates,
            placed,
            submission.priorities,
            self.quiz.version,
            submission.context.state,
            top,
        )

    def compute_and_explain(
        self, submission: Submission, top: int | None = None
    ) -> tuple[Computed, Piece]:
        """Both at once, deciding once: what to store, and the result to answer with (as JSON
        values, `Explainer.explained`), its first `top` recommendations worded (all by
        default)."""
        estimates, placed = self._decide(submission)
        result = self.explainer().explained(
            estimates,
            placed,
            submission.priorities,
            self.quiz.version,
            submission.context.state,
            top,
        )
        return self._computed(submission, estimates, placed), result

    def _decide(self, submission: Submission) -> tuple[list[StageEstimate], dict[str, Placed]]:
        """Estimates in listing order, and each condition's place."""
        self.validate(submission)
        estimates = self.estimate(submission)
        return estimates, self.place(estimates, submission.priorities)

    def _computed(
        self, submission: Submission, estimates: list[StageEstimate], placed: dict[str, Placed]
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
                        "rank": placed[e.slug].rank,
                        "order_basis": placed[e.slug].basis,
                    }
                    for e in estimates
                ],
            }
        )
