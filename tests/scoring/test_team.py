"""Team aggregation: median stage, the disagreement rule, the combined ranking."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scoring import Scorer
from scoring.decisions import Standing
from scoring.team import Member, aggregate, disagreement, released, spread, team_stage
from tests.scoring.support import SCORER

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


def test_released_covers_members_up_to_the_latest_whole_batch_of_known_answers() -> None:
    assert released([True, True], 3) == 0
    assert released([True, False, True, True], 3) == 4
    assert released([True, True, True, False, True], 3) == 3  # the not-sure member waits
    assert released([True] * 7, 3) == 6
    assert released([True, False, True, False], 1) == 3


def test_a_condition_with_too_few_known_answers_shows_nothing(scorer: Scorer) -> None:
    """One member who placed the state, two not sure anywhere: nothing of the one answer."""
    slugs = list(scorer.conditions)
    real = Member(
        dict.fromkeys(slugs, 2) | {"responsive-funding-systems": 0}, {}, ("measuring-success",)
    )
    unsure = Member(dict.fromkeys(slugs, None), {}, ())
    result = aggregate(scorer, [real, unsure, unsure], threshold=3)
    assert result.members == 3
    for c in result.conditions:
        assert c.too_few_answers and c.counts is None and c.team_stage is None
        assert c.disagreement is None and c.differing_questions == []
    for r in result.recommendations:
        assert r.team_stage is None and r.priority_votes is None and r.order_basis != "priority"
        assert "Too few members placed your state" in r.reasons[0]
    # The real member's stages and priority show nowhere in the result.
    dumped = result.model_dump_json()
    assert '"team_stage":0' not in dumped and '"priority_votes":1' not in dumped


@given(
    st.lists(st.lists(stage, min_size=2, max_size=2), min_size=1, max_size=14),
    st.integers(min_value=1, max_value=4),
)
def test_team_figures_change_only_by_whole_batches_of_known_answers(
    answers: list[list[int | None]], threshold: int
) -> None:
    """Read after each member joins: a condition shows known answers in whole batches of the
    threshold, any two readings differ by 0 or at least the threshold of them, and the
    not-sure count moves only together with a batch."""
    slugs = list(SCORER.conditions)[:2]
    members = [Member(dict(zip(slugs, a, strict=True))) for a in answers]
    seen: list[dict[str, dict[str, int] | None]] = []
    for n in range(1, len(members) + 1):
        result = aggregate(SCORER, members[:n], threshold=threshold)
        seen.append({c.slug: c.counts for c in result.conditions if c.slug in slugs})
    for slug in slugs:
        readings = [s[slug] for s in seen]
        known = [0 if r is None else sum(r.values()) - r["unknown"] for r in readings]
        assert all(k % threshold == 0 for k in known)
        for a, b in zip(readings, readings[1:], strict=False):
            grown = (0 if b is None else sum(b.values()) - b["unknown"]) - (
                0 if a is None else sum(a.values()) - a["unknown"]
            )
            assert grown == 0 or grown >= threshold
            if grown == 0:
                assert a == b


def test_spread_is_how_far_apart_not_merely_different() -> None:
    assert spread([2, 2, 2]) == 0
    assert spread([1, 2]) == 1
    assert spread([0, 3]) == 3
    assert spread([1, 1, 3]) == 1.33  # pairs 0, 2, 2
    assert spread([0, 1, 2, 3]) == 1.67  # pairs 1, 2, 3, 1, 2, 1
    assert spread([1, None, None]) is None  # "not sure" is no distance
    assert spread([2, None, 2]) == 0
    # Two members one stage apart are closer than two at the ends, though both "differ".
    assert spread([1, 2]) < spread([0, 3])


@given(st.lists(stage, min_size=2, max_size=12))
def test_spread_is_zero_exactly_when_known_stages_agree(stages: list[int | None]) -> None:
    measured = spread(stages)
    known = {s for s in stages if s is not None}
    if len([s for s in stages if s is not None]) < 2:
        assert measured is None
    else:
        assert measured is not None and 0 <= measured <= 3
        assert (measured == 0) == (len(known) == 1)


def test_agenda_orders_the_widest_gaps_first_and_splits_answers(scorer: Scorer) -> None:
    slugs = list(scorer.conditions)
    base = dict.fromkeys(slugs, 2)
    wide = "responsive-funding-systems"  # 0, 3, 3: spread 2
    narrow = "balanced-assessments"  # 1, 2, 2: spread 0.67
    unsure_only = "measuring-success"  # 2, 2, not sure: spread 0, not on the agenda
    members = [
        Member(
            base | {wide: 0, narrow: 1},
            {"funding": "not-started"},
            evidence={"funding": {"note": "zeta"}},
        ),
        Member(
            base | {wide: 3, unsure_only: None},
            {"funding": "formula"},
            evidence={"funding": {"note": "alpha", "link": "https://example.org"}},
        ),
        Member(base | {wide: 3}, {"funding": "formula"}),
    ]
    result = aggregate(scorer, members, threshold=3)
    assert [(a.order, a.slug, a.spread) for a in result.agenda] == [
        (1, wide, 2.0),
        (2, narrow, 0.67),
    ]
    funding = result.agenda[0]
    [split] = funding.questions
    counts = {o.option_id: o.members for o in split.options}
    assert counts["formula"] == 2 and counts["not-started"] == 1 and sum(counts.values()) == 3
    assert [n.note for n in funding.notes] == ["alpha", "zeta"]  # sorted, not by member
    assert funding.notes[0].link == "https://example.org"
    # Nothing about a condition before its first batch: fewer known answers, no agenda entry.
    assert aggregate(scorer, members[:2], threshold=3).agenda == []


def test_team_ranking_is_the_scorers_own_readiness_ranking(scorer: Scorer) -> None:
    """Scoring 3.0 on team stages: a condition waiting on another says "First:", and the
    foundation leads, exactly as for one respondent with the same stages."""
    stages = dict.fromkeys(scorer.conditions, 1) | {
        "vision-for-student-success": 0,
        "measuring-success": 1,
    }
    members = [Member(stages) for _ in range(3)]
    result = aggregate(scorer, members, top=11)
    by_slug = {r.slug: r for r in result.recommendations}
    measuring = by_slug["measuring-success"]
    assert measuring.order_basis == "dependency"
    assert measuring.tied_with == ["vision-for-student-success"]
    assert measuring.reasons[-1].startswith("First: Vision for Student Success.")
    assert result.recommendations[0].slug == "vision-for-student-success"

    alone = scorer.ranking().rank([Standing(s, v) for s, v in stages.items()])
    assert [p.slug for p in alone] == [r.slug for r in result.recommendations]
