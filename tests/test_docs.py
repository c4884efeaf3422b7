"""The worked examples in docs/scoring.md, checked against the engine."""

from __future__ import annotations

from pathlib import Path

from tests.scoring.support import QUESTIONS, SCORER, Rung, every_question_at, option_for, submit

DOC = " ".join((Path(__file__).resolve().parents[1] / "docs" / "scoring.md").read_text().split())
FIRST: dict[str, Rung] = {
    q: next(o.stage for o in QUESTIONS[q].options if o.stage is not None) for q in QUESTIONS
}
EXAMPLE_B = every_question_at(1) | {"vision-statewide": 0, "vision-local": 1, "funding": 0}
EXAMPLE_C = every_question_at(3) | {"funding": 0, "whole-child": 0}


def in_doc(text: str) -> bool:
    return " ".join(text.split()) in DOC


def labels_in_doc(answers: dict[str, Rung], shown: list[str]) -> None:
    for question_id in shown:
        question = QUESTIONS[question_id]
        option = option_for(question_id, answers[question_id])
        label = next(o.label for o in question.options if o.id == option)
        assert in_doc(question.prompt) and in_doc(label.rstrip(".")), question_id


def test_example_a_a_state_with_nothing() -> None:
    labels_in_doc(FIRST, ["vision-statewide", "vision-local"])
    result = SCORER.score(submit(FIRST), top=11)
    assert result.begin_here == [
        "vision-for-student-success",
        "collaborative-leadership",
        "culture-of-innovation",
    ]
    assert [r.order_basis for r in result.recommendations[:3]] == ["dependency"] * 3
    quoted = (
        "It is a foundation: reaching Exploration here unlocks the next step of Quality "
        "Framework for Student Success and Balanced Assessments (links of our reading)."
    )
    assert any(quoted in r for r in result.recommendations[0].reasons) and in_doc(quoted)
    funding = next(r for r in result.recommendations if r.slug == "responsive-funding-systems")
    assert funding.rank == 10 and any(
        r.startswith("First: Collaborative Leadership.") for r in funding.reasons
    )


def test_example_b_a_priority_that_can_and_one_that_cannot() -> None:
    labels_in_doc(EXAMPLE_B, ["vision-statewide", "vision-local", "funding"])
    plain = SCORER.score(submit(EXAMPLE_B), top=11)
    assert [(r.slug, r.order_basis) for r in plain.recommendations[:2]] == [
        ("vision-for-student-success", "dependency"),
        ("responsive-funding-systems", "stage"),
    ]
    chosen = SCORER.score(submit(EXAMPLE_B, priorities=["responsive-funding-systems"]), top=11)
    first = chosen.recommendations[0]
    assert (first.slug, first.order_basis) == ("responsive-funding-systems", "priority")
    quoted = "You chose it as a priority, so it comes before the 9 other ready conditions."
    assert quoted in first.reasons and in_doc(quoted)
    waiting = SCORER.score(submit(EXAMPLE_B, priorities=["measuring-success"]), top=11)
    first = waiting.recommendations[0]
    assert (first.slug, first.order_basis) == ("vision-for-student-success", "priority")
    quoted = (
        "It is needed for your priority Measuring Success, so it comes before the 9 other ready "
        "conditions"
    )
    assert any(quoted in r for r in first.reasons) and in_doc(quoted)
    note = (
        "Your priority Measuring Success cannot come first yet: its next step waits on "
        "Vision for Student Success (our reading of the framework's stage goals), so that is put "
        "first, as needed for your priority."
    )
    assert waiting.tie_note is not None and note in waiting.tie_note and in_doc(note)


def test_example_c_equals() -> None:
    result = SCORER.score(submit(EXAMPLE_C), top=11)
    assert [r.order_basis for r in result.recommendations[:2]] == ["tie", "tie"]
    quoted = "they are equals, listed in the framework's order. Choose one as a priority to put it first."
    assert quoted in result.recommendations[0].reasons[-1] and in_doc(quoted)
    chosen = SCORER.score(submit(EXAMPLE_C, priorities=["responsive-funding-systems"]), top=11)
    assert (chosen.recommendations[0].slug, chosen.recommendations[0].order_basis) == (
        "responsive-funding-systems",
        "priority",
    )


def test_every_link_in_the_table_is_in_the_data() -> None:
    names = {c.slug: c.name for c in SCORER.framework.conditions}
    for link in SCORER.framework.dependencies:
        assert f"| {names[link.condition]} (" in DOC and f"| {names[link.needs]} |" in DOC


def test_example_d_not_sure_is_checked_first() -> None:
    answers = FIRST | {"vision-statewide": None}
    labels_in_doc(answers, ["vision-statewide"])
    result = SCORER.score(submit(answers), top=11)
    assert result.check_first is not None
    [check] = result.check_first
    assert check.slug == "vision-for-student-success" and in_doc(check.message)
    assert "vision-for-student-success" not in result.begin_here
    first = result.recommendations[0]
    assert (first.slug, first.order_basis) == ("collaborative-leadership", "dependency")
    waiting = next(r for r in result.recommendations if r.slug == "balanced-assessments")
    quoted = "First confirm where your state stands on Vision for Student Success"
    assert any(r.startswith(quoted) for r in waiting.reasons) and in_doc(quoted)
    assert SCORER.score(submit(FIRST), top=11).begin_here[0] == "vision-for-student-success"
