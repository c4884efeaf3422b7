"""Team aggregation: median stage, the disagreement rule, the combined ranking."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scoring import Scorer
from scoring.team import Member, aggregate, disagreement, team_stage

stage = st.one_of(st.none(), st.integers(min_value=0, max_value=3))


def test_team_stage_is_the_lower_median_of_known_stages() -> None:
    assert team_stage([1, 2, 3]) == 2
    assert team_stage([1, 3]) == 1  # even: the lower middle
    assert team_stage([None, 0, 2, None]) == 0
    assert team_stage([None, None]) is None


def test_disagreement_rule() -> None:
    assert not disagreement([2, 2, 2])
    assert disagreement([1, 2])
    assert disagreement([1, None])
    assert not disagreement([None, None])


@given(st.lists(stage, min_size=1, max_size=12))
def test_a_member_who_agrees_with_the_median_never_creates_a_disagreement(
    stages: list[int | None],
) -> None:
    before = disagreement(stages)
    median = team_stage(stages)
    if median is None:
        return
    if not before:
        assert not disagreement([*stages, median])
    # Nor does it move the team stage by more than one step of the list.
    assert team_stage([*stages, median]) == median


def test_combined_ranking_uses_team_stages_and_counted_priorities(scorer: Scorer) -> None:
    slugs = list(scorer.conditions)
    base = dict.fromkeys(slugs, 2)

    def member(**changes: int | None) -> dict[str, int | None]:
        return base | {k.replace("_", "-"): v for k, v in changes.items()}

    members = [
        Member(
            member(responsive_funding_systems=0, balanced_assessments=1),
            {"funding": "a"},
            ("balanced-assessments",),
        ),
        Member(
            member(responsive_funding_systems=2, balanced_assessments=1),
            {"funding": "b"},
            ("balanced-assessments",),
        ),
        Member(member(responsive_funding_systems=1, balanced_assessments=1), {}, ()),
    ]
    result = aggregate(scorer, members)
    by_slug = {c.slug: c for c in result.conditions}
    funding = by_slug["responsive-funding-systems"]
    assert funding.counts == {"0": 1, "1": 1, "2": 1, "3": 0, "unknown": 0}
    assert funding.team_stage == 1 and funding.disagreement
    assert funding.differing_questions == ["funding"]
    assert not by_slug["culture-of-innovation"].disagreement
    # Both at the team stage Exploration; balanced assessments has two priority votes.
    top = result.recommendations
    assert [r.slug for r in top[:2]] == ["balanced-assessments", "responsive-funding-systems"]
    assert top[0].order_basis == "priority" and top[0].priority_votes == 2
    assert "2 members chose it as a priority" in top[0].reasons[-1]
    assert result.members == 3
