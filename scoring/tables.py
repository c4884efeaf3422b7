"""Look-up tables built once from one content version (framework and quiz), shared by the
decisions (`scoring/decisions.py`) and the wording (`scoring/explain.py`)."""

from __future__ import annotations

from typing import Any

from quiz import Framework, Quiz
from quiz.framework import Condition, ConditionStage
from quiz.questions import Option, Question
from scoring.models import Evidence

# A piece of a result (a condition's status, a recommendation...) before `Result` validates it.
Piece = dict[str, Any]


def _floor(options: list[Option]) -> Option | None:
    return next((o for o in options if o.stage is not None), None)


class Tables:
    """Everything scoring reads of one framework and one quiz, as dictionaries."""

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
                Evidence(
                    q.id,
                    q.prompt,
                    o.id,
                    o.label,
                    o.stage,
                    o.progress,
                    o is _floor(q.options),
                    (_floor(q.options) or o).stage != 0,
                ),
            )
            for q in quiz.questions
            for o in q.options
        }
        self.dependencies = framework.dependencies
        self.stages: dict[tuple[str, int], ConditionStage] = {
            (c.slug, s.level): s for c in framework.conditions for s in c.stages
        }
        # The same stages and early adopters as a result holds them (JSON values, dumped once;
        # shared by every result, so never changed): a result is built as JSON values, with no
        # content model dumped again for each one.
        self.stages_json: dict[tuple[str, int], Piece] = {
            key: stage.model_dump(mode="json") for key, stage in self.stages.items()
        }
        self.early_adopters_json: dict[str, Piece | None] = {
            c.slug: c.early_adopter.model_dump(mode="json") if c.early_adopter else None
            for c in framework.conditions
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
