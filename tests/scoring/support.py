"""Building submissions by stage rather than by option id, so tests read as the rules do."""

from __future__ import annotations

from typing import Any

from quiz import load_content
from scoring import Scorer, Submission

FRAMEWORK, QUIZ = load_content()
SCORER = Scorer(FRAMEWORK, QUIZ)
QUESTIONS = {q.id: q for q in QUIZ.questions}
CONDITIONS = [c.slug for c in FRAMEWORK.conditions]
# A stage, or (stage, progress) for a further step within it; None is "I'm not sure".
Rung = int | tuple[int, int] | None


def option_for(question_id: str, rung: Rung) -> str:
    stage, progress = rung if isinstance(rung, tuple) else (rung, 0)
    question = QUESTIONS[question_id]
    return next(o.id for o in question.options if (o.stage, o.progress) == (stage, progress))


def stages_offered(question_id: str) -> list[int]:
    return sorted({o.stage for o in QUESTIONS[question_id].options if o.stage is not None})


def submit(answers: dict[str, Rung], **extra: Any) -> Submission:
    return Submission(
        quiz_version=QUIZ.version,
        answers=[{"question_id": q, "option_id": option_for(q, r)} for q, r in answers.items()],  # type: ignore[misc]
        **extra,
    )


def every_question_at(stage: int) -> dict[str, Rung]:
    """Every question at `stage`, or at the nearest stage it offers (vision-local starts at 1)."""
    return {q: min(stages_offered(q), key=lambda s: abs(s - stage)) for q in QUESTIONS}
