"""Each scoring version keeps its own wording: a stored result reads as it did when computed,
whatever a later version says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quiz import content_from_snapshot
from scoring import Answer, Computed, Scorer, Submission, decisions, explain
from scoring.decisions import SequenceRanking
from scoring.explain import Explainer
from scoring.models import StageEstimate
from tests.scoring.support import SCORER

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REWORDED = "Reworded under scoring 9.9: earliest first."


class Reworded(Explainer):
    """A new version that changes one sentence and nothing else."""

    version = "9.9"

    def position_reason(self, estimate: StageEstimate, ranked: list[StageEstimate]) -> str:
        return REWORDED


def _fixture() -> dict[str, object]:
    return json.loads((FIXTURES / "lean-scoring-2.0.json").read_text())  # type: ignore[no-any-return]


def test_a_scoring_2_0_result_reads_byte_for_byte_after_a_new_version_rewords_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(explain.EXPLAINERS, "9.9", Reworded)
    monkeypatch.setitem(decisions.RANKINGS, "9.9", SequenceRanking)
    fixture = _fixture()
    scorer = Scorer(*content_from_snapshot(fixture["content"]))  # type: ignore[arg-type]
    answers = [Answer.model_validate(a) for a in fixture["answers"]]  # type: ignore[attr-defined]
    stored = Computed.model_validate(fixture["computed"])
    old = scorer.explain(stored, answers, fixture["state"])  # type: ignore[arg-type]
    stored_bytes = json.dumps(fixture["result"], sort_keys=True).encode()
    assert json.dumps(old.model_dump(mode="json"), sort_keys=True).encode() == stored_bytes
    assert all(REWORDED not in r for rec in old.recommendations for r in rec.reasons)

    # The same decisions under the new version take the new wording, and say which version.
    new = scorer.explain(stored.model_copy(update={"scoring_version": "9.9"}), answers)
    assert new.scoring_version == "9.9"
    assert all(REWORDED in rec.reasons for rec in new.recommendations)


def test_an_unknown_scoring_version_is_a_clear_error() -> None:
    fixture = _fixture()
    scorer = Scorer(*content_from_snapshot(fixture["content"]))  # type: ignore[arg-type]
    stored = Computed.model_validate(fixture["computed"]).model_copy(
        update={"scoring_version": "0.1"}
    )
    with pytest.raises(ValueError, match="scoring version '0.1'"):
        scorer.explain(stored, [])


def _answer_sets() -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries(
        {q.id: st.sampled_from([o.id for o in q.options] + ["skip"]) for q in SCORER.quiz.questions}
    ).map(lambda d: {k: v for k, v in d.items() if v != "skip"})


@settings(max_examples=120, deadline=None)
@given(
    _answer_sets(), st.lists(st.sampled_from(sorted(SCORER.conditions)), max_size=3, unique=True)
)
def test_what_is_stored_explains_back_to_the_very_result_answered(  # type: ignore[no-untyped-def]
    answers, priorities
) -> None:
    """Scoring 3.0 stores only the decisions; explaining them again (as a stored result is
    read) gives the result answered at submission, sentence for sentence."""
    submission = Submission.model_validate(
        {
            "quiz_version": SCORER.quiz.version,
            "answers": [{"question_id": q, "option_id": o} for q, o in answers.items()],
            "context": {"state": "KY"},
            "priorities": priorities,
        }
    )
    computed, answered = SCORER.compute_and_explain(submission)
    assert computed.scoring_version == "3.0"
    stored = Computed.model_validate(computed.model_dump(mode="json", exclude_defaults=True))
    again = SCORER.explain(stored, submission.answers, "KY")
    assert again.model_dump(mode="json") == answered
