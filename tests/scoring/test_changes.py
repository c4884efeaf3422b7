"""What-if comparison: moves and stage changes, condition by condition."""

from __future__ import annotations

from scoring import Scorer, changes
from scoring.changes import headline, ordinal
from tests.scoring.support import every_question_at, submit


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "111th",
    ]  # fmt: skip


def test_same_answers_change_nothing(scorer: Scorer) -> None:
    result = scorer.score(submit(every_question_at(1)), top=100)
    found = changes(result.model_dump(mode="json"), result)
    assert {c.moved for c in found} == {"same"}
    assert headline(found) == "Nothing changes in the ranking."


def test_raising_a_condition_moves_it_down_and_names_the_stage(scorer: Scorer) -> None:
    before = scorer.score(submit(every_question_at(1) | {"funding": 0}), top=100)
    after = scorer.score(submit(every_question_at(1) | {"funding": 3}), top=100)
    found = {c.slug: c for c in changes(before.model_dump(mode="json"), after)}
    funding = found["responsive-funding-systems"]
    assert (funding.rank_before, funding.stage_before, funding.stage_after) == (1, 0, 3)
    assert funding.moved == "down" and funding.rank_after > 1
    assert funding.summary.startswith("Responsive Funding Systems moved from 1st to ")
    assert "its stage from Not yet started to Statewide Transformation" in funding.summary
    # Every rank is still a permutation, and whoever took first place moved up.
    assert sorted(c.rank_after for c in found.values()) == list(range(1, len(found) + 1))
    first = next(c for c in found.values() if c.rank_after == 1)
    assert first.moved == "up"
    assert "Responsive Funding Systems moved from 1st" in headline(list(found.values()))


def test_conditions_missing_from_an_older_result_are_new(scorer: Scorer) -> None:
    after = scorer.score(submit(every_question_at(2)), top=100)
    old = after.model_dump(mode="json")
    old["conditions"] = old["conditions"][1:]
    found = changes(old, after)
    dropped = after.conditions[0].slug
    assert next(c for c in found if c.slug == dropped).moved == "new"
