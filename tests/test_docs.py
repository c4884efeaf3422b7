"""The worked examples in docs/scoring.md, checked against the engine."""

from __future__ import annotations

from pathlib import Path

from tests.scoring.support import QUESTIONS, SCORER, every_question_at, option_for, submit

DOC = (Path(__file__).resolve().parents[1] / "docs" / "scoring.md").read_text()
EXAMPLE_A = every_question_at(2) | {"funding": 0, "assessment": 0, "assessment-literacy": 0}
EXAMPLE_B = every_question_at(2) | {
    "whole-child": 1,
    "funding": 1,
    "measurement": 1,
    "assessment": (1, 1),
}


def labels_in_doc(answers: dict[str, object]) -> None:
    for question_id, rung in answers.items():
        if question_id in every_question_at(2) and rung == every_question_at(2)[question_id]:
            continue
        question = QUESTIONS[question_id]
        label = next(o.label for o in question.options if o.id == option_for(question_id, rung))  # type: ignore[arg-type]
        assert question.prompt in DOC and label.rstrip(".") in DOC, question_id


def test_example_a_decided_by_priorities() -> None:
    labels_in_doc(EXAMPLE_A)
    plain = SCORER.score(submit(EXAMPLE_A), top=11)
    assert [r.slug for r in plain.recommendations[:2]] == [
        "responsive-funding-systems",
        "balanced-assessments",
    ]
    assert plain.recommendations[0].order_basis == "sequence" and plain.tie_note
    chosen = SCORER.score(submit(EXAMPLE_A, priorities=["balanced-assessments"]), top=11)
    first = chosen.recommendations[0]
    assert (first.slug, first.order_basis, first.tied_with) == (
        "balanced-assessments",
        "priority",
        ["responsive-funding-systems"],
    )
    quoted = "You chose it as a priority, so it comes before Responsive Funding Systems, which is at the same stage."
    assert quoted in first.reasons and quoted.replace("\n", " ") in DOC.replace("\n", " ")
    assert {r.current_stage for r in chosen.recommendations[2:]} == {2}


def test_example_b_decided_by_the_sequence() -> None:
    labels_in_doc(EXAMPLE_B)
    result = SCORER.score(submit(EXAMPLE_B), top=11)
    assert [(r.slug, r.order_basis) for r in result.recommendations[:4]] == [
        ("equitable-conditions-for-learning", "sequence"),
        ("responsive-funding-systems", "sequence"),
        ("measuring-success", "sequence"),
        ("balanced-assessments", "progress"),
    ]
    assert result.tie_note is not None
    assert {r.current_stage for r in result.recommendations[4:]} == {2}
