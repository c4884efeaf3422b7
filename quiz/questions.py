"""The quiz definition (`quiz/quiz.yaml`) and its validation against the framework."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, computed_field

from quiz.framework import (
    ContentError,
    Framework,
    Slug,
    StageLevel,
    Text,
    _Content,
    parse_content,
    read_yaml,
)

QUIZ_PATH = Path(__file__).resolve().parent / "quiz.yaml"
MAX_QUESTIONS = 15
# A careful adult reading reference text; slower than the 238 wpm average for fiction, because
# each option has to be checked against what the reader knows of their state.
WORDS_PER_MINUTE = 200
SECONDS_PER_DECISION = 8

OptionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")]


class Option(_Content):
    id: OptionId
    label: Text
    # None is the "I'm not sure" option.
    stage: StageLevel | None
    # 1: a further step within the same stage ("well along" rather than "just reached it").
    progress: Literal[0, 1] = 0


class Question(_Content):
    id: Slug
    condition: Slug
    prompt: Text
    help: Text
    options: list[Option] = Field(min_length=2)
    # What the question measures, where two questions measure the same thing (their answers can
    # then contradict each other); None: only this question measures it (from quiz 2026-12.1).
    measures: Slug | None = None

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


class ContextOption(_Content):
    id: OptionId
    label: Text


class ContextQuestion(_Content):
    id: Literal["state", "role"]
    prompt: Text
    options: list[ContextOption] = Field(min_length=1)
    required: Literal[False] = False

    def option(self, option_id: str) -> ContextOption | None:
        return next((o for o in self.options if o.id == option_id), None)


class PrioritiesQuestion(_Content):
    """ "Which conditions matter most?": its options are the framework's conditions."""

    prompt: Text
    help: Text
    max_choices: int = Field(ge=1, le=5)


class Quiz(_Content):
    version: Text
    title: Text
    intro: Text
    # One or two plain sentences: what the quiz means by personalized learning.
    personalized_learning: Text
    priorities: PrioritiesQuestion
    questions: list[Question] = Field(min_length=1, max_length=MAX_QUESTIONS)
    context_questions: list[ContextQuestion]

    @property
    def words(self) -> int:
        """Every word of the form a respondent reads: intro, questions, help, options, the
        priorities and context prompts, and the priorities' choices (the condition names)."""
        texts = [
            self.intro,
            self.personalized_learning,
            self.priorities.prompt,
            self.priorities.help,
            *(cq.prompt for cq in self.context_questions),
            *(c.replace("-", " ") for c in dict.fromkeys(q.condition for q in self.questions)),
        ]
        for q in self.questions:
            texts += [q.prompt, q.help, *(o.label for o in q.options)]
        return sum(len(t.split()) for t in texts)

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented pattern
    @property
    def estimated_minutes(self) -> int:
        """Reading time of every word a respondent reads, plus time to decide each question,
        the priorities and the two context questions."""
        seconds = self.words / WORDS_PER_MINUTE * 60 + SECONDS_PER_DECISION * (
            len(self.questions) + 3
        )
        return max(1, math.ceil(seconds / 60))

    def context_question(self, question_id: str) -> ContextQuestion | None:
        return next((q for q in self.context_questions if q.id == question_id), None)

    def questions_for(self, condition_slug: str) -> list[Question]:
        return [q for q in self.questions if q.condition == condition_slug]


def load_quiz(framework: Framework, path: Path = QUIZ_PATH) -> Quiz:
    """Load the quiz and check it covers the framework: every condition asked about, ids unique,
    every question offering each stage at most once and an "I'm not sure" option."""
    quiz = parse_content(Quiz, read_yaml(path), path)
    known = {c.slug for c in framework.conditions}
    seen_ids: set[str] = set()
    for i, question in enumerate(quiz.questions):
        where = f"{path}: field 'questions.{i}"
        if question.id in seen_ids:
            raise ContentError(f"{where}.id': duplicate question id '{question.id}'")
        seen_ids.add(question.id)
        if question.condition not in known:
            raise ContentError(f"{where}.condition': unknown condition '{question.condition}'")
        option_ids = [o.id for o in question.options]
        if len(set(option_ids)) != len(option_ids):
            raise ContentError(f"{where}.options': duplicate option ids in {option_ids}")
        stages = [o.stage for o in question.options if o.stage is not None]
        rungs = [(o.stage, o.progress) for o in question.options if o.stage is not None]
        if len(set(rungs)) != len(rungs):
            raise ContentError(f"{where}.options': two options map to the same stage and progress")
        if rungs != sorted(rungs):
            raise ContentError(f"{where}.options': options must climb the ladder in order")
        if any(o.stage is None and o.progress for o in question.options):
            raise ContentError(f"{where}.options': \"I'm not sure\" cannot carry progress")
        if None not in [o.stage for o in question.options]:
            raise ContentError(f"{where}.options': needs an \"I'm not sure\" option (stage: null)")
        if not stages:
            raise ContentError(f"{where}.options': needs at least one option with a stage")
    context_ids = [q.id for q in quiz.context_questions]
    if sorted(context_ids) != ["role", "state"]:
        raise ContentError(f"{path}: field 'context_questions': must be exactly 'state' and 'role'")
    for i, cq in enumerate(quiz.context_questions):
        ids = [o.id for o in cq.options]
        if len(set(ids)) != len(ids):
            raise ContentError(
                f"{path}: field 'context_questions.{i}.options': duplicate option ids"
            )
    uncovered = sorted(known - {q.condition for q in quiz.questions})
    if uncovered:
        raise ContentError(f"{path}: field 'questions': no question covers {', '.join(uncovered)}")
    return quiz
