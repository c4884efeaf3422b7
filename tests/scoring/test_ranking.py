"""The ranking: stage first, then the respondent's priorities, progress, and only then the
suggested sequence; each recommendation saying which decided it. Tables, edge cases, properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import Result
from tests.scoring.support import (
    CONDITIONS,
    FRAMEWORK,
    QUESTIONS,
    SCORER,
    Rung,
    every_question_at,
    submit,
)

STAGE_3 = every_question_at(3)


def ranked(result: Result) -> list[str]:
    return [r.slug for r in result.recommendations]


def all_reasons(result: Result) -> str:
    return " ".join(reason for r in result.recommendations for reason in r.reasons)


# --- ties and what breaks them -----------------------------------------------------------------


def test_priority_breaks_a_tie_before_the_sequence() -> None:
    answers = every_question_at(2) | {"funding": 0, "assessment": 0, "assessment-literacy": 0}
    plain = SCORER.score(submit(answers), top=11)
    assert ranked(plain)[:2] == ["responsive-funding-systems", "balanced-assessments"]
    assert plain.recommendations[0].order_basis == "sequence"
    assert plain.recommendations[0].tied_with == ["balanced-assessments"]
    assert plain.tie_note and "suggested sequence of our own" in plain.tie_note

    chosen = SCORER.score(submit(answers, priorities=["balanced-assessments"]), top=11)
    assert ranked(chosen)[:2] == ["balanced-assessments", "responsive-funding-systems"]
    first, second = chosen.recommendations[:2]
    assert (first.order_basis, first.tied_with, first.prioritized) == (
        "priority",
        ["responsive-funding-systems"],
        True,
    )
    assert second.order_basis == "priority" and not second.prioritized
    assert "You chose it as a priority" in first.reasons[-1]
    assert chosen.tie_note is None
    assert chosen.priorities == ["balanced-assessments"]


def test_a_priority_never_jumps_a_lower_stage() -> None:
    answers = every_question_at(2) | {"funding": 0}
    result = SCORER.score(submit(answers, priorities=["measuring-success"]), top=11)
    assert ranked(result)[0] == "responsive-funding-systems"
    assert result.recommendations[0].order_basis == "stage"


def test_less_progress_first_at_the_same_stage() -> None:
    answers = every_question_at(2) | {"funding": 1, "assessment": (1, 1), "assessment-literacy": 1}
    result = SCORER.score(submit(answers), top=11)
    assert ranked(result)[:2] == ["responsive-funding-systems", "balanced-assessments"]
    assert [r.order_basis for r in result.recommendations[:2]] == ["progress", "progress"]
    assert "just reached the stage" in result.recommendations[0].reasons[-1]
    assert "answers here show one" in result.recommendations[1].reasons[-1]


def test_the_sequence_is_labelled_ours_and_never_the_frameworks() -> None:
    result = SCORER.score(submit({}), top=11)
    text = all_reasons(result) + (result.tie_note or "")
    assert "suggested sequence of our own" in text and "Getting Smart" in text
    assert "framework's foundational order" not in text and "the framework says" not in text
    assert [r.slug for r in result.recommendations] == [
        s.slug for s in FRAMEWORK.suggested_sequence.steps
    ]


# --- results that read right in every case ---------------------------------------------------


def test_all_unsure_says_to_confirm_not_known_gaps() -> None:
    result = SCORER.score(submit(dict.fromkeys(QUESTIONS)), top=11)
    assert result.headline == "confirm"
    assert len(result.begin_here) == 3
    assert all(r.focus == "confirm" for r in result.recommendations)
    assert "known gaps" not in all_reasons(result)
    assert "You placed no condition below Statewide Transformation" in all_reasons(result)


def test_all_unanswered_says_to_confirm() -> None:
    result = SCORER.score(submit({}))
    assert result.headline == "confirm"
    assert "did not answer the question on Vision for Student Success" in all_reasons(result)
    assert "known gaps" not in all_reasons(result)


def test_all_stage_three_keeps_it_going() -> None:
    result = SCORER.score(submit(STAGE_3), top=11)
    assert result.headline == "keep-going"
    assert len(result.begin_here) == 3
    for r in result.recommendations:
        assert r.focus == "sustain" and r.next_stage is None
        assert r.current_stage_detail is not None and r.current_stage_detail.level == 3
        assert r.current_stage_detail.strategic_question
    assert "Begin with the vision" not in all_reasons(result)


def test_one_gap_and_everything_else_finished() -> None:
    result = SCORER.score(submit(STAGE_3 | {"funding": 0}), top=11)
    assert result.begin_here == ["responsive-funding-systems"]
    assert result.headline == "begin"
    assert result.recommendations[0].order_basis == "stage"
    assert [c.slug for c in result.commitments[1].related_recommendations] == [
        "responsive-funding-systems"
    ]
    assert all(
        rr.slug in result.begin_here for c in result.commitments for rr in c.related_recommendations
    )


def test_contradictory_vision_answers_are_reported() -> None:
    result = SCORER.score(submit({"vision-statewide": 3, "vision-local": 1}))
    [contradiction] = result.contradictions
    assert contradiction.slug == "vision-for-student-success"
    assert [a.stage for a in contradiction.answers] == [3, 1]
    assert contradiction.message.startswith(
        "Your answers about Vision for Student Success point to different stages:"
    )
    assert "Check with a colleague" in contradiction.message
    assert SCORER.score(submit({"vision-statewide": 2, "vision-local": 1})).contradictions == []


def test_respondent_state_is_the_early_adopter() -> None:
    result = SCORER.score(submit({"vision-statewide": 0}, context={"state": "SC"}))
    vision = result.recommendations[0]
    assert vision.slug == "vision-for-student-success"
    assert vision.early_adopter_is_respondent_state
    other = SCORER.score(submit({"vision-statewide": 0}, context={"state": "OH"}))
    assert not other.recommendations[0].early_adopter_is_respondent_state


def test_reasons_never_argue_against_their_rank() -> None:
    result = SCORER.score(submit({"funding": 0}, priorities=[]), top=11)
    funding = result.recommendations[0]
    assert funding.slug == "responsive-funding-systems"
    assert not any("follows once" in r or "come last" in r for r in funding.reasons)


# --- properties --------------------------------------------------------------------------------


def rungs(question_id: str) -> list[Rung]:
    offered = [
        (o.stage, o.progress) if o.progress else o.stage
        for o in QUESTIONS[question_id].options
        if o.stage is not None
    ]
    return [*offered, None]


answer_sets = st.fixed_dictionaries(
    {q: st.sampled_from([*rungs(q), "skip"]) for q in QUESTIONS}
).map(lambda d: {k: v for k, v in d.items() if v != "skip"})
priority_sets = st.lists(st.sampled_from(CONDITIONS), max_size=3, unique=True)


@settings(max_examples=150, deadline=None)
@given(answer_sets, priority_sets, st.randoms(use_true_random=False))
def test_deterministic_and_independent_of_answer_order(answers, priorities, rnd) -> None:  # type: ignore[no-untyped-def]
    sub = submit(answers, priorities=priorities)
    shuffled = list(sub.answers)
    rnd.shuffle(shuffled)
    a = SCORER.score(sub, top=100)
    b = SCORER.score(sub.model_copy(update={"answers": shuffled}), top=100)
    assert a == b == SCORER.score(sub, top=100)


@settings(max_examples=150, deadline=None)
@given(answer_sets, priority_sets)
def test_every_condition_once_and_lower_stage_first(answers, priorities) -> None:  # type: ignore[no-untyped-def]
    result = SCORER.score(submit(answers, priorities=priorities), top=100)
    assert sorted(ranked(result)) == sorted(CONDITIONS)
    assert sorted(c.rank for c in result.conditions) == list(range(1, len(CONDITIONS) + 1))
    recs = result.recommendations
    for i, a in enumerate(recs):
        for b in recs[i + 1 :]:
            if a.current_stage is not None and b.current_stage is not None:
                assert a.current_stage <= b.current_stage


@settings(max_examples=200, deadline=None)
@given(answer_sets, priority_sets, st.sampled_from(CONDITIONS))
def test_a_chosen_priority_never_moves_a_condition_down(answers, priorities, extra) -> None:  # type: ignore[no-untyped-def]
    if extra in priorities or len(priorities) >= 3:
        return
    before = ranked(SCORER.score(submit(answers, priorities=priorities), top=100))
    after = ranked(SCORER.score(submit(answers, priorities=[*priorities, extra]), top=100))
    assert after.index(extra) <= before.index(extra)


@settings(max_examples=200, deadline=None)
@given(answer_sets, st.sampled_from(sorted(QUESTIONS)), st.integers(min_value=1, max_value=3))
def test_raising_a_stage_never_moves_a_condition_up(answers, question_id, step) -> None:  # type: ignore[no-untyped-def]
    current = answers.get(question_id)
    if current is None:
        return  # raising is defined between stages; "not sure" and unanswered are not stages
    stage = current[0] if isinstance(current, tuple) else current
    raised_stage = min(max(s for s in rungs(question_id) if isinstance(s, int)), stage + step)
    raised = dict(answers, **{question_id: raised_stage})
    condition = QUESTIONS[question_id].condition
    assert (
        ranked(SCORER.score(submit(raised), top=100)).index(condition)
        >= ranked(SCORER.score(submit(answers), top=100)).index(condition)
        or raised_stage == stage
    )


@settings(max_examples=200, deadline=None)
@given(answer_sets, priority_sets)
def test_order_basis_and_tied_with_match_the_ranking(answers, priorities) -> None:  # type: ignore[no-untyped-def]
    result = SCORER.score(submit(answers, priorities=priorities), top=100)
    position = {r.slug: i for i, r in enumerate(result.recommendations)}
    by_slug = {r.slug: r for r in result.recommendations}
    estimates = {e.slug: e for e in SCORER.estimate(submit(answers))}

    def group(slug: str) -> tuple[int, int]:
        stage = by_slug[slug].current_stage
        return (1, 0) if stage is None else ((2, 3) if stage == 3 else (0, stage))

    for r in result.recommendations:
        peers = [s for s in CONDITIONS if s != r.slug and group(s) == group(r.slug)]
        assert set(r.tied_with) <= set(peers)
        chosen = r.slug in priorities
        if r.order_basis == "stage":
            assert peers == [] and r.tied_with == []
            continue
        assert r.tied_with
        for other in r.tied_with:
            ahead = position[r.slug] < position[other]
            if r.order_basis == "priority":
                assert (other in priorities) != chosen and ahead == chosen
            elif r.order_basis == "progress":
                assert (other in priorities) == chosen
                mine, theirs = estimates[r.slug].progress, estimates[other].progress
                assert mine != theirs and ahead == (mine < theirs)
            else:
                assert (other in priorities) == chosen
                assert estimates[other].progress == estimates[r.slug].progress
        if r.order_basis == "sequence":
            assert set(r.tied_with) == {
                p
                for p in peers
                if (p in priorities) == chosen
                and estimates[p].progress == estimates[r.slug].progress
            }
