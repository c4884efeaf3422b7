"""Twelve real states' profiles through the engine: does the advice come from their answers?

The figures below are reported in the closing note of the advice issue; the assertions keep them
from getting worse unnoticed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from scoring import Result, Submission
from tests.scoring.personas import PERSONAS, Persona
from tests.scoring.support import QUESTIONS, SCORER


def score(persona: Persona, priorities: list[str]) -> Result:
    submission = Submission.model_validate(
        {
            "quiz_version": SCORER.quiz.version,
            "answers": [{"question_id": q, "option_id": o} for q, o in persona.answers.items()],
            "context": {"state": persona.state},
            "priorities": priorities,
        }
    )
    return SCORER.score(submission, top=11)


@dataclass(frozen=True)
class Figures:
    by_sequence: int  # top-three slots whose position the suggested sequence decided
    membership_by_sequence: int  # ...and whose place in the top three at all it decided
    first_slot_by_sequence: int
    distinct_lists: int


def figures(priority: bool) -> Figures:
    by_sequence = membership = first = 0
    lists = set()
    for persona in PERSONAS:
        result = score(persona, [persona.priority] if priority else [])
        shown = [r for r in result.recommendations if r.slug in result.begin_here]
        lists.add(tuple(result.begin_here))
        for r in shown:
            if r.order_basis == "sequence":
                by_sequence += 1
                membership += any(t not in result.begin_here for t in r.tied_with)
        first += shown[0].order_basis == "sequence"
    return Figures(by_sequence, membership, first, len(lists))


def test_personas_answer_every_question_with_a_real_option() -> None:
    assert len(PERSONAS) == 12 and len({p.state for p in PERSONAS}) == 12
    for persona in PERSONAS:
        assert set(persona.answers) == set(QUESTIONS), persona.state
        for question_id, option_id in persona.answers.items():
            assert option_id in {o.id for o in QUESTIONS[question_id].options}, (
                persona.state,
                question_id,
            )


def test_without_priorities() -> None:
    got = figures(priority=False)
    print(f"\nwithout priorities: {got}")
    # Aim was at most 12 of 36; honest answers leave most of these states at "Not yet started"
    # on several conditions, which nothing but their own priorities can order.
    assert got.by_sequence <= 31
    assert got.membership_by_sequence <= 18
    assert got.distinct_lists >= 8


def test_with_one_priority_each() -> None:
    got = figures(priority=True)
    print(f"\nwith one priority each: {got}")
    assert got.first_slot_by_sequence == 0
    assert got.by_sequence <= 19
    assert got.membership_by_sequence <= 15
    assert got.distinct_lists >= 8


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.state)
def test_a_states_own_example_is_never_offered_as_a_model_to_copy(persona: Persona) -> None:
    result = score(persona, [])
    for r in result.recommendations:
        if r.early_adopter is not None and r.early_adopter.state == persona.state:
            assert r.early_adopter_is_respondent_state


def test_south_carolina_is_not_placed_below_replication_on_its_own_vision() -> None:
    sc = next(p for p in PERSONAS if p.state == "SC")
    result = score(sc, [])
    vision = next(c for c in result.conditions if c.slug == "vision-for-student-success")
    assert vision.stage == 2
    assert "vision-for-student-success" not in result.begin_here
