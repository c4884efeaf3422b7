"""The quiz is short, covers every condition and is validated when it loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from quiz import ContentError, Framework, Quiz, load_quiz
from quiz.questions import MAX_QUESTIONS, QUIZ_PATH

ANSWERS = Path(__file__).resolve().parents[2] / "tests/fixtures/calibration/answers-2026-12.1.json"


def test_quiz_covers_every_condition(quiz: Quiz, framework: Framework) -> None:
    covered = {q.condition for q in quiz.questions}
    assert covered == {c.slug for c in framework.conditions}
    assert len(quiz.questions) <= MAX_QUESTIONS
    assert 5 <= quiz.estimated_minutes <= 12


def test_time_estimate_is_computed_from_the_text(quiz: Quiz) -> None:
    longer = quiz.model_copy(update={"intro": quiz.intro + " word" * 400})
    assert longer.estimated_minutes == quiz.estimated_minutes + 2
    assert "estimated_minutes" in quiz.model_dump()


def test_options_are_single_claims_on_a_ladder(quiz: Quiz) -> None:
    for question in quiz.questions:
        rungs = [(o.stage, o.progress) for o in question.options if o.stage is not None]
        assert rungs == sorted(rungs) and len(set(rungs)) == len(rungs), question.id
        # The first option is what a state with nothing answers: stage 0, except the district
        # question on the vision, a second-stage sign that never lowers an adopted profile.
        first = next(o for o in question.options if o.stage is not None)
        assert first.stage == (1 if question.id == "vision-local" else 0), question.id
        assert first.progress == 0, question.id
        for option in question.options:
            # What federal law or a near-universal federal program gives every state is never
            # above stage 0: no rung above it is met by ESSA, Perkins V or a federal survey.
            if option.stage:
                for federal in ("ESSA", "Perkins", "YRBS", "survey"):
                    assert federal not in option.label, option.label
    # Federal baselines are stage 0, so real states can choose it.
    labels = {o.label for q in quiz.questions for o in q.options if o.stage == 0}
    assert any("ESSA" in label for label in labels) and any("Perkins" in label for label in labels)
    assert "mastered" in quiz.personalized_learning
    # Ladders are cumulative: the intro says so, and picking the highest option whose every
    # rung is true never credits a rung whose rungs below are missing.
    assert (
        "every option includes the ones" in quiz.intro
        and "highest option whose every rung is true" in quiz.intro
    )


def test_every_question_has_not_sure_and_valid_stages(quiz: Quiz) -> None:
    ids = [q.id for q in quiz.questions]
    assert len(ids) == len(set(ids))
    for question in quiz.questions:
        stages = [o.stage for o in question.options]
        assert None in stages
        assert {s for s in stages if s is not None} <= {0, 1, 2, 3}
        assert question.help and question.prompt.endswith("?")


def test_context_questions(quiz: Quiz) -> None:
    state = quiz.context_question("state")
    role = quiz.context_question("role")
    assert state is not None and role is not None
    codes = {o.id for o in state.options}
    assert len(codes) == 56  # 50 states, DC and five territories
    assert {"DC", "PR", "GU", "VI", "AS", "MP", "CA", "WY"} <= codes
    assert {o.id for o in role.options} == {
        "legislator",
        "state-board",
        "state-agency",
        "governor-office",
        "district-leader",
        "educator",
        "partner",
        "other",
    }
    assert not state.required and not role.required


@pytest.fixture
def quiz_copy(tmp_path: Path) -> Path:
    target = tmp_path / "quiz.yaml"
    shutil.copy(QUIZ_PATH, target)
    return target


def edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_uncovered_condition_is_rejected(quiz_copy: Path, framework: Framework) -> None:
    edit(
        quiz_copy,
        lambda d: d.update(
            questions=[q for q in d["questions"] if q["condition"] != "measuring-success"]
        ),
    )
    with pytest.raises(
        ContentError, match=r"quiz.yaml: field 'questions': no question covers measuring-success"
    ):
        load_quiz(framework, quiz_copy)


def test_duplicate_question_id_is_rejected(quiz_copy: Path, framework: Framework) -> None:
    edit(quiz_copy, lambda d: d["questions"][1].update(id=d["questions"][0]["id"]))
    with pytest.raises(ContentError, match=r"field 'questions.1.id': duplicate question id"):
        load_quiz(framework, quiz_copy)


def test_unknown_condition_and_bad_stage_are_rejected(
    quiz_copy: Path, framework: Framework
) -> None:
    edit(quiz_copy, lambda d: d["questions"][0].update(condition="flying-cars"))
    with pytest.raises(
        ContentError, match=r"questions.0.condition': unknown condition 'flying-cars'"
    ):
        load_quiz(framework, quiz_copy)
    shutil.copy(QUIZ_PATH, quiz_copy)
    edit(quiz_copy, lambda d: d["questions"][2]["options"][0].update(stage=7))
    with pytest.raises(ContentError, match=r"questions.2.options.0.stage"):
        load_quiz(framework, quiz_copy)


def test_question_without_not_sure_is_rejected(quiz_copy: Path, framework: Framework) -> None:
    edit(quiz_copy, lambda d: d["questions"][3]["options"].pop())
    with pytest.raises(
        ContentError, match=r"questions.3.options': needs an \"I'm not sure\" option"
    ):
        load_quiz(framework, quiz_copy)


def test_too_many_questions_is_rejected(quiz_copy: Path, framework: Framework) -> None:
    def pad(d):  # type: ignore[no-untyped-def]
        extra = [dict(d["questions"][0], id=f"extra-{i}") for i in range(MAX_QUESTIONS)]
        d["questions"].extend(extra)

    edit(quiz_copy, pad)
    with pytest.raises(ContentError, match=r"field 'questions'"):
        load_quiz(framework, quiz_copy)


def test_no_question_leaves_a_state_without_a_true_option(quiz: Quiz) -> None:
    """A first option that is a conjunction ("no study, and no funding") is false for a state
    with one but not the other, whose second rung may be false too: such first options read
    "None of the options below is fully true", and the instruction says to pick it then."""
    assert "pick the highest option whose every rung is true" in quiz.intro
    assert "if even the second option is not fully true, pick the first" in quiz.intro
    first = {q.id: q.options[0].label for q in quiz.questions}
    for question_id in ("funding", "educator-supports", "whole-child"):
        assert first[question_id] == "None of the options below is fully true.", question_id
    for question_id, label in first.items():
        assert ", and " not in label, question_id


def test_pathways_do_not_credit_essa_accountability(quiz: Quiz) -> None:
    pathways = next(q for q in quiz.questions if q.id == "pathways")
    assert "ESSA accountability" in (pathways.help or "")
    states = json.loads(ANSWERS.read_text())["states"]
    for code, entry in states.items():
        basis = entry["answers"]["pathways"]["basis"]
        for indicator in ("Choice Ready", "CCMR", "college, career and military readiness"):
            if indicator in basis:
                assert "no longer count" in basis, code
