"""The ranking of scoring 3.0: readiness from the links between conditions, the respondent's
priorities, foundations, stage and momentum; ties shown as equals; each recommendation saying
which rule placed it. Tables, edge cases, properties. (Scoring 2.0's rules are kept for its
stored results: tests/scoring/test_versions.py.)"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import Result
from scoring.decisions import SequenceRanking, Standing
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
NOTHING: dict[str, Rung] = {
    q: next(o.stage for o in QUESTIONS[q].options if o.stage is not None) for q in QUESTIONS
}
VISION = "vision-for-student-success"


def ranked(result: Result) -> list[str]:
    return [r.slug for r in result.recommendations]


def all_reasons(result: Result) -> str:
    return " ".join(reason for r in result.recommendations for reason in r.reasons)


def rec(result: Result, slug: str):  # type: ignore[no-untyped-def]
    return next(r for r in result.recommendations if r.slug == slug)


# --- readiness, foundations, priorities, ties ---------------------------------------------------


def test_a_state_with_nothing_begins_with_the_vision_its_foundation() -> None:
    result = SCORER.score(submit(NOTHING), top=11)
    assert ranked(result)[:2] == [VISION, "collaborative-leadership"]
    vision = result.recommendations[0]
    assert vision.order_basis == "dependency"
    assert any("It is a foundation" in r and "our reading" in r for r in vision.reasons)
    assert "responsive-funding-systems" not in result.begin_here
    assert "Getting Smart" not in all_reasons(result) + (result.tie_note or "")
    assert "sequence" not in {r.order_basis for r in result.recommendations}


def test_a_condition_waiting_on_another_says_first_which() -> None:
    # Measuring Success at Exploration, with no profile of a graduate: its next stage (state and
    # local measures combined toward the vision) waits on the vision.
    answers = every_question_at(1) | {"vision-statewide": 0, "vision-local": 1}
    result = SCORER.score(submit(answers), top=11)
    measuring = rec(result, "measuring-success")
    assert measuring.order_basis == "dependency"
    assert measuring.tied_with == [VISION]
    assert any(r.startswith("First: Vision for Student Success.") for r in measuring.reasons)
    assert any("our reading, not the framework's order" in r for r in measuring.reasons)
    assert ranked(result).index(VISION) < ranked(result).index("measuring-success")
    # Once the vision is adopted it is ready again.
    ready = SCORER.score(submit(answers | {"vision-statewide": 1}), top=11)
    assert not any(r.startswith("First:") for r in rec(ready, "measuring-success").reasons)


def test_a_link_resting_on_a_first_stage_goal_holds_back_only_the_first_stage() -> None:
    # NH: Balanced Assessments at Replication (PACE) with no state profile. Its link to the
    # vision rests on the first-stage goal (a vision for assessment tied to the state's vision),
    # a stage it has passed: its next step waits on nothing, and the vision unlocks none of it.
    answers = every_question_at(1) | {"vision-statewide": 0, "vision-local": 1}
    answers |= {"assessment": 2, "assessment-literacy": 2}
    result = SCORER.score(submit(answers), top=11)
    assessments = rec(result, "balanced-assessments")
    assert assessments.current_stage in (1, 2)
    assert assessments.focus == "advance" and assessments.tied_with != [VISION]
    assert not any(r.startswith("First:") for r in assessments.reasons)
    vision = rec(result, VISION)
    assert "Balanced Assessments" not in " ".join(vision.reasons)
    assert "Quality Framework" not in " ".join(vision.reasons)
    # Before that stage the link still holds: nothing yet, it waits on the vision.
    early = SCORER.score(submit(answers | {"assessment": 0, "assessment-literacy": 0}), top=11)
    assert any(
        r.startswith("First: Vision for Student Success.")
        for r in rec(early, "balanced-assessments").reasons
    )


def test_not_sure_about_a_prerequisite_is_a_check_before_the_list_not_the_place_to_begin() -> None:
    # MS and IN: not sure whether the state has adopted a profile of a graduate. Confirming it
    # is a lookup, not where a multi-year effort begins: it is listed to check first, with what
    # it would unlock, and what waits on it says "First confirm".
    answers: dict[str, Rung] = {**NOTHING, "vision-statewide": None}
    result = SCORER.score(submit(answers), top=11)
    assert VISION not in result.begin_here
    assert result.headline == "begin"
    assert result.check_first is not None
    assert [c.slug for c in result.check_first] == [VISION]
    check = result.check_first[0]
    assert check.confidence == "unsure"
    assert check.unlocks == ["quality-framework-for-student-success", "balanced-assessments"]
    assert "our reading" in check.message
    vision = rec(result, VISION)
    assert vision.focus == "confirm" and vision.rank > len(result.begin_here)
    assert any("Check first" in r and "not a place to begin" in r for r in vision.reasons)
    for slug in check.unlocks:
        waiting = rec(result, slug)
        assert waiting.order_basis == "dependency" and waiting.tied_with == [VISION]
        assert any(
            r.startswith("First confirm where your state stands on Vision for Student Success")
            for r in waiting.reasons
        )
    # The ready conditions lead: what the rest of the answers say, not the unknown.
    assert result.begin_here[0] == "collaborative-leadership"
    # Answered "no profile" instead, the vision is the foundation and comes first.
    known = SCORER.score(submit(NOTHING), top=11)
    assert known.begin_here[0] == VISION and known.check_first == []


def test_unknown_stages_that_unlock_more_are_checked_first() -> None:
    # Vision and Collaborative Leadership both unknown: more of the state's next steps wait on
    # the vision (Quality Framework, Balanced Assessments) than on leadership (funding).
    answers: dict[str, Rung] = {**NOTHING, "vision-statewide": None, "vision-local": None}
    answers["leadership"] = None
    result = SCORER.score(submit(answers), top=11)
    assert result.check_first is not None
    assert [c.slug for c in result.check_first][:2] == [VISION, "collaborative-leadership"]
    assert rec(result, VISION).order_basis == "dependency"
    assert rec(result, VISION).rank < rec(result, "collaborative-leadership").rank


def test_a_ready_priority_comes_first_and_a_blocked_one_says_why() -> None:
    answers = every_question_at(1) | {"vision-statewide": 0, "vision-local": 1, "funding": 0}
    chosen = SCORER.score(submit(answers, priorities=["responsive-funding-systems"]), top=11)
    first = chosen.recommendations[0]
    assert (first.slug, first.order_basis, first.prioritized) == (
        "responsive-funding-systems",
        "priority",
        True,
    )
    assert first.reasons[-1].startswith("You chose it as a priority, so it comes before")
    blocked = SCORER.score(submit(answers, priorities=["measuring-success"]), top=11)
    assert ranked(blocked)[0] != "measuring-success"
    assert blocked.tie_note is not None
    assert "Your priority Measuring Success cannot come first yet" in blocked.tie_note
    assert any("cannot come first yet" in r for r in rec(blocked, "measuring-success").reasons)


def test_what_a_waiting_priority_needs_comes_first_as_needed_for_it() -> None:
    # CO: its priority Measuring Success waits on Balanced Assessments (ready, at Not yet
    # started); that comes first, "needed for your priority", before unrelated ready ones.
    answers = every_question_at(1) | {"assessment": 0, "assessment-literacy": 0}
    plain = SCORER.score(submit(answers), top=11)
    assert rec(plain, "measuring-success").tied_with == ["balanced-assessments"]
    chosen = SCORER.score(submit(answers, priorities=["measuring-success"]), top=11)
    first = chosen.recommendations[0]
    assert (first.slug, first.order_basis, first.prioritized) == (
        "balanced-assessments",
        "priority",
        False,
    )
    assert any(
        "Your priority Measuring Success waits on it" in r and "needed for your priority" in r
        for r in first.reasons
    )
    assert any(
        r.startswith("It is needed for your priority Measuring Success") for r in first.reasons
    )
    assert ranked(chosen).index("balanced-assessments") < ranked(chosen).index("measuring-success")


def test_a_finished_priority_says_it_cannot_move_the_list() -> None:
    answers = STAGE_3 | {"funding": 0, "measurement": 0}
    result = SCORER.score(submit(answers, priorities=["culture-of-innovation"]), top=11)
    assert result.tie_note is not None
    assert "Your priority Culture of Innovation is already at Statewide Transformation" in (
        result.tie_note
    )


def test_equals_are_shown_as_equals_not_ordered_by_a_list_of_ours() -> None:
    # Funding and whole-child both at Not yet started, nothing else open, nothing between them.
    answers = STAGE_3 | {"funding": 0, "whole-child": 0}
    result = SCORER.score(submit(answers), top=11)
    first, second = result.recommendations[:2]
    assert {first.slug, second.slug} == {
        "responsive-funding-systems",
        "equitable-conditions-for-learning",
    }
    assert first.order_basis == second.order_basis == "tie"
    assert result.tie_note is not None and "they are equals" in result.tie_note
    assert "Choose one as a priority" in first.reasons[-1]
    chosen = SCORER.score(submit(answers, priorities=["responsive-funding-systems"]), top=11)
    assert ranked(chosen)[0] == "responsive-funding-systems"
    assert chosen.recommendations[0].order_basis == "priority"


def test_momentum_orders_conditions_at_the_same_stage() -> None:
    answers = STAGE_3 | {"funding": (0, 1), "whole-child": 0}
    result = SCORER.score(submit(answers), top=11)
    assert ranked(result)[:2] == ["responsive-funding-systems", "equitable-conditions-for-learning"]
    assert result.recommendations[0].order_basis == "progress"
    assert "builds on momentum" in result.recommendations[0].reasons[-1]
    assert "comes first" in result.recommendations[1].reasons[-1]


def test_not_yet_started_is_labelled_ours_and_never_just_reached() -> None:
    result = SCORER.score(submit(NOTHING), top=11)
    text = all_reasons(result)
    assert "a point of ours before the framework's three stages" in text
    assert "our reading of the framework's stage goals" in text
    assert "just reached" not in text


def test_no_false_alarm_between_answers_that_measure_different_things() -> None:
    # No state profile but many district ones is normal in a local-control state.
    result = SCORER.score(submit({"vision-statewide": 0, "vision-local": 2}))
    assert result.contradictions == []
    standing = SCORER.score(submit({"innovation-flexibility": 3, "innovation-spread": 0}))
    assert standing.contradictions == []


def test_scoring_2_0_rules_are_kept_for_its_results() -> None:
    ranking = SequenceRanking(SCORER)
    standings = [Standing(s, 0) for s in CONDITIONS]
    placed = ranking.rank(standings)
    assert [p.slug for p in placed] == [s.slug for s in FRAMEWORK.suggested_sequence.steps]
    assert {p.basis for p in placed} == {"sequence"}


# --- results that read right in every case ---------------------------------------------------


def test_all_unsure_says_to_confirm_not_known_gaps() -> None:
    result = SCORER.score(submit(dict.fromkeys(QUESTIONS)), top=11)
    assert result.headline == "confirm"
    # One list of checks: every condition in it, nothing above it, no tie or order sentence.
    assert len(result.begin_here) == 11
    assert result.check_first == []
    assert result.tie_note is None
    assert all(r.focus == "confirm" for r in result.recommendations)
    text = all_reasons(result)
    assert "known gaps" not in text
    assert "follows the conditions whose next step is clear" not in text
    assert "Check first" not in text and "equals" not in text and "Choose one" not in text


def test_all_unanswered_says_to_confirm() -> None:
    result = SCORER.score(submit({}))
    assert result.headline == "confirm"
    assert "did not answer the question on Vision for Student Success" in all_reasons(result)


def test_all_stage_three_keeps_it_going() -> None:
    result = SCORER.score(submit(STAGE_3), top=11)
    assert result.headline == "keep-going"
    assert len(result.begin_here) == 3
    for r in result.recommendations:
        assert r.focus == "sustain" and r.next_stage is None
        assert r.current_stage_detail is not None and r.current_stage_detail.level == 3


def test_one_gap_and_everything_else_finished() -> None:
    result = SCORER.score(submit(STAGE_3 | {"funding": 0}), top=11)
    assert result.begin_here == ["responsive-funding-systems"]
    assert result.headline == "begin"
    assert result.recommendations[0].order_basis == "stage"
    assert all(
        rr.slug in result.begin_here for c in result.commitments for rr in c.related_recommendations
    )


def test_respondent_state_is_the_early_adopter() -> None:
    result = SCORER.score(submit({"vision-statewide": 0}, context={"state": "SC"}))
    vision = result.recommendations[0]
    assert vision.slug == VISION and vision.early_adopter_is_respondent_state
    other = SCORER.score(submit({"vision-statewide": 0}, context={"state": "OH"}))
    assert not other.recommendations[0].early_adopter_is_respondent_state


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


@settings(max_examples=200, deadline=None)
@given(answer_sets, priority_sets)
def test_what_a_condition_waits_on_comes_before_it_and_ready_priorities_lead(  # type: ignore[no-untyped-def]
    answers, priorities
) -> None:
    result = SCORER.score(submit(answers, priorities=priorities), top=100)
    assert sorted(ranked(result)) == sorted(CONDITIONS)
    assert sorted(c.rank for c in result.conditions) == list(range(1, len(CONDITIONS) + 1))
    order = ranked(result)
    by_slug = {r.slug: r for r in result.recommendations}
    waiting = {
        r.slug
        for r in result.recommendations
        if r.order_basis == "dependency"
        and any(x.startswith(("First:", "First confirm")) for x in r.reasons)
    }
    check_first = [c.slug for c in result.check_first or []]
    unknown = [r.slug for r in result.recommendations if r.current_stage is None]
    # Every unknown stage is a check before the list, never a place to begin, unless nothing
    # has a known next step; in rank order, with what it would unlock.
    if any(r.focus == "advance" for r in result.recommendations):
        assert check_first == unknown
        assert all(by_slug[s].focus == "advance" for s in result.begin_here)
    for c in result.check_first or []:
        assert c.unlocks == [
            s for s in CONDITIONS if s in waiting and c.slug in by_slug[s].tied_with
        ]
    for r in result.recommendations:
        if r.slug in waiting:
            for w in r.tied_with:
                if by_slug[w].current_stage is None:
                    # An unknown prerequisite: "first confirm" it, and it is in Check first.
                    assert any(
                        x.startswith(("First confirm", "First:")) and "confirm" in x
                        for x in r.reasons
                    )
                    assert w in check_first or w in result.begin_here
                else:
                    assert order.index(w) < order.index(r.slug), r.slug
    ready = [
        r.slug
        for r in result.recommendations
        if r.slug not in waiting and r.current_stage is not None and r.current_stage < 3
    ]
    ready_priorities = [s for s in ready if s in priorities]
    # What a waiting priority needs comes with the priorities ("needed for your priority").
    lifted = [s for s in ready if any("needed for your priority" in x for x in by_slug[s].reasons)]
    others = [s for s in CONDITIONS if s not in priorities and s not in lifted]
    for s in lifted:
        assert all(order.index(s) < order.index(o) for o in others if o in ready)
    for s in ready_priorities:
        assert all(order.index(s) < order.index(o) for o in others)
    assert "just reached Not yet started" not in all_reasons(result)
    assert "sequence" not in {r.order_basis for r in result.recommendations}


@settings(max_examples=200, deadline=None)
@given(answer_sets, priority_sets, st.sampled_from(CONDITIONS))
def test_a_chosen_priority_never_moves_a_condition_down(answers, priorities, extra) -> None:  # type: ignore[no-untyped-def]
    if extra in priorities or len(priorities) >= 3:
        return
    before = ranked(SCORER.score(submit(answers, priorities=priorities), top=100))
    after = ranked(SCORER.score(submit(answers, priorities=[*priorities, extra]), top=100))
    assert after.index(extra) <= before.index(extra)


@settings(max_examples=200, deadline=None)
@given(answer_sets, priority_sets)
def test_ties_are_mutual_and_between_equals(answers, priorities) -> None:  # type: ignore[no-untyped-def]
    result = SCORER.score(submit(answers, priorities=priorities), top=100)
    by_slug = {r.slug: r for r in result.recommendations}
    for r in result.recommendations:
        if r.order_basis != "tie":
            continue
        assert r.tied_with
        for other in r.tied_with:
            mate = by_slug[other]
            assert mate.order_basis == "tie" and r.slug in mate.tied_with
            # An unknown stage that others wait on ("confirm it first") can tie with a stage.
            assert mate.current_stage == r.current_stage or None in (
                mate.current_stage,
                r.current_stage,
            )

            # Priorities tie only with priorities, or with what one of them waits on.
            def chosen(x):  # type: ignore[no-untyped-def]
                return x.slug in priorities or any(
                    "needed for your priority" in reason for reason in x.reasons
                )

            assert chosen(mate) == chosen(r)


def test_equals_that_are_all_priorities_are_not_told_to_choose_a_priority() -> None:
    # As for KY (priorities Balanced Assessments and Measuring Success, level at the top): two
    # chosen priorities that nothing else separates.
    answers = STAGE_3 | {"funding": 0, "whole-child": 0}
    both = ["responsive-funding-systems", "equitable-conditions-for-learning"]
    result = SCORER.score(submit(answers, priorities=both), top=11)
    assert set(ranked(result)[:2]) == set(both)
    assert result.recommendations[0].order_basis == "tie"
    assert result.tie_note is not None
    assert "are both your priorities" in result.tie_note
    assert "choose which to lead with" in result.tie_note
    top_two = " ".join(x for r in result.recommendations[:2] for x in r.reasons)
    assert "Choose one as a priority" not in result.tie_note + top_two
    assert any("both your priorities" in r for r in result.recommendations[0].reasons)
    # Not priorities: the same equals, now "together at the top", never "level at the top".
    plain = SCORER.score(submit(answers), top=11)
    assert plain.tie_note is not None and "together at the top" in plain.tie_note
    assert "level at the top" not in plain.tie_note


def test_an_early_adopter_placed_at_not_yet_started_is_asked_to_recheck() -> None:
    # PA is the framework's example for Measuring Success and Equitable Conditions.
    answers = every_question_at(1) | {"measurement": 0, "whole-child": 0}
    result = SCORER.score(submit(answers, context={"state": "PA"}), top=11)
    line = "KnowledgeWorks cites your state as this condition's early adopter"
    for slug in ("measuring-success", "equitable-conditions-for-learning"):
        r = rec(result, slug)
        assert r.early_adopter_is_respondent_state and r.current_stage == 0
        assert any(line in x and "re-check the answer" in x for x in r.reasons), slug
    # At Exploration, or for another state, no such line.
    later = SCORER.score(submit(every_question_at(1), context={"state": "PA"}), top=11)
    assert line not in all_reasons(later)
    other = SCORER.score(submit(answers, context={"state": "KY"}), top=11)
    assert line not in all_reasons(other)


def test_a_comparison_by_foundations_names_what_comes_first_once() -> None:
    for answers in (NOTHING, every_question_at(1) | {"vision-statewide": 0, "vision-local": 1}):
        result = SCORER.score(submit(answers), top=11)
        for r in result.recommendations:
            for x in r.reasons:
                assert x.count("build on") <= 1 or "fewer build" in x, x
                assert x.count("more of your other next steps") <= 1, x
