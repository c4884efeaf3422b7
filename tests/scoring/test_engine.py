"""Stage estimates, validation and the shape of a result."""

from __future__ import annotations

import pytest

from quiz import Framework, Quiz
from scoring import Submission, SubmissionInvalid
from tests.scoring.support import FRAMEWORK, QUIZ, SCORER, Rung, submit


def stage_of(submission: Submission, slug: str) -> tuple[int | None, str, int]:
    estimates = {e.slug: e for e in SCORER.estimate(submission)}
    e = estimates[slug]
    return e.stage, e.confidence, e.progress


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({}, (None, "unanswered", 0)),
        ({"vision-statewide": None}, (None, "unsure", 0)),
        ({"vision-statewide": None, "vision-local": None}, (None, "unsure", 0)),
        ({"vision-statewide": 0}, (0, "answered", 0)),
        ({"vision-statewide": 2}, (2, "answered", 0)),
        ({"vision-statewide": 3, "vision-local": 3}, (3, "answered", 0)),
        ({"vision-statewide": 2, "vision-local": 1}, (1, "answered", 1)),
        ({"vision-statewide": 1, "vision-local": 3}, (1, "answered", 1)),
        # District profiles alone cannot place the vision: the state profile is not known.
        ({"vision-statewide": None, "vision-local": 2}, (None, "unsure", 0)),
        ({"vision-statewide": 0, "vision-local": None}, (0, "answered", 0)),
        # No district answer pulls a state with an adopted profile below Exploration...
        ({"vision-statewide": 1, "vision-local": 1}, (1, "answered", 0)),
        ({"vision-statewide": 3, "vision-local": 1}, (1, "answered", 1)),
        # ...and South Carolina's model (districts use the state's profile) is Replication.
        ({"vision-statewide": 2, "vision-local": 2}, (2, "answered", 0)),
    ],
)
def test_vision_stage_table(
    answers: dict[str, Rung], expected: tuple[int | None, str, int]
) -> None:
    assert stage_of(submit(answers), "vision-for-student-success") == expected


def test_district_question_never_goes_below_exploration() -> None:
    local = next(q for q in QUIZ.questions if q.id == "vision-local")
    assert min(o.stage for o in local.options if o.stage is not None) == 1
    assert "the state's or their own" in local.prompt
    # A state with no profile of its own can say "none" honestly, and it is no progress.
    assert stage_of(
        submit({"vision-statewide": 0, "vision-local": 1}), "vision-for-student-success"
    ) == (0, "answered", 0)
    assert stage_of(
        submit({"vision-statewide": 0, "vision-local": 2}), "vision-for-student-success"
    ) == (0, "answered", 1)
    assert stage_of(
        submit({"vision-statewide": 1, "vision-local": 1}), "vision-for-student-success"
    ) == (1, "answered", 0)


def test_every_question_has_an_honest_first_answer_that_is_never_progress() -> None:
    for question in QUIZ.questions:
        answers: dict[str, Rung] = {
            q.id: next(o.stage for o in q.options if o.stage is not None)
            for q in QUIZ.questions
            if q.condition == question.condition
        }
        stage, _, progress = stage_of(submit(answers), question.condition)
        assert progress == 0, question.id
        assert stage == 0, question.id


@pytest.mark.parametrize("stage", [0, 1, 2, 3, None])
def test_single_question_condition_takes_the_answer(stage: int | None) -> None:
    expected = (stage, "answered" if stage is not None else "unsure", 0)
    assert stage_of(submit({"funding": stage}), "responsive-funding-systems") == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"funding": (2, 1)}, (2, "answered", 1)),
        ({"funding": (0, 1)}, (0, "answered", 1)),
        ({"assessment": (1, 1), "assessment-literacy": 2}, (1, "answered", 2)),
        ({"assessment": (1, 1), "assessment-literacy": 0}, (0, "answered", 1)),
        ({"assessment": 1, "assessment-literacy": None}, (1, "answered", 0)),
    ],
)
def test_progress_within_a_stage(answers: dict[str, Rung], expected: tuple[int, str, int]) -> None:
    slug = "responsive-funding-systems" if "funding" in answers else "balanced-assessments"
    assert stage_of(submit(answers), slug) == expected


def test_result_shape() -> None:
    result = SCORER.score(
        submit({"vision-statewide": 0}, context={"state": "OH", "role": "educator"})
    )
    assert result.quiz_version == QUIZ.version and result.scoring_version == "3.0"
    assert len(result.conditions) == len(FRAMEWORK.conditions)
    assert len(result.recommendations) == 3
    assert sorted(c.rank for c in result.conditions) == list(range(1, 12))
    first = result.recommendations[0]
    # The one condition answered, and ready: the others are unknown.
    assert first.slug == "vision-for-student-success" and first.order_basis == "stage"
    assert first.early_adopter is not None and first.early_adopter.state_name == "South Carolina"
    assert not first.early_adopter_is_respondent_state
    assert [c.name for c in result.commitments] == [
        "Alignment",
        "Equity",
        "Transformative School Models",
        "Shared Ownership",
    ]


@pytest.mark.parametrize(
    ("submission", "field", "code"),
    [
        ({"quiz_version": "0.0"}, "quiz_version", "quiz_version_mismatch"),
        (
            {"answers": [{"question_id": "nope", "option_id": "x"}]},
            "answers.0.question_id",
            "unknown_question",
        ),
        (
            {"answers": [{"question_id": "funding", "option_id": "nope"}]},
            "answers.0.option_id",
            "unknown_option",
        ),
        (
            {
                "answers": [
                    {"question_id": "funding", "option_id": "barriers-named"},
                    {"question_id": "funding", "option_id": "formula"},
                ]
            },
            "answers.1.question_id",
            "duplicate_answer",
        ),
        ({"context": {"state": "XX"}}, "context.state", "unknown_state"),
        ({"context": {"role": "astronaut"}}, "context.role", "unknown_role"),
        ({"priorities": ["not-a-condition"]}, "priorities.0", "unknown_condition"),
        (
            {"priorities": ["measuring-success", "measuring-success"]},
            "priorities.1",
            "duplicate_priority",
        ),
        (
            {
                "priorities": [
                    "measuring-success",
                    "balanced-assessments",
                    "culture-of-innovation",
                    "collaborative-leadership",
                ]
            },
            "priorities",
            "too_many_priorities",
        ),
    ],
)
def test_invalid_submissions_name_the_field(submission: dict, field: str, code: str) -> None:  # type: ignore[type-arg]
    body = {"quiz_version": QUIZ.version, **submission}
    with pytest.raises(SubmissionInvalid) as err:
        SCORER.score(Submission.model_validate(body))
    assert [(p.field, p.code) for p in err.value.problems] == [(field, code)]


def test_fixtures_match_module_content(framework: Framework, quiz: Quiz) -> None:
    assert framework == FRAMEWORK and quiz == QUIZ
