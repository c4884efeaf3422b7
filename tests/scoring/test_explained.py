"""Results as JSON values (`Explainer.explained`): what a submission answers and keeps is what
the `Result` model would give, byte for byte, and scoring 3.0 words every result exactly as it
did before results were built that way (issue: submission CPU, 2026-12-02)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from scoring import Result, Submission
from tests.scoring.support import SCORER

FIXTURE = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures/explained-3.0.json").read_text()
)


def _submission(answers: dict[str, str], priorities: list[str], state: str | None) -> Submission:
    return Submission.model_validate(
        {
            "quiz_version": SCORER.quiz.version,
            "answers": [{"question_id": q, "option_id": o} for q, o in answers.items()],
            "priorities": priorities,
            "context": {"state": state},
        }
    )


def _sha256(value: Any) -> str:
    return hashlib.sha256(to_json(value)).hexdigest()


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=lambda c: str(c["state"]))
def test_scoring_3_0_results_read_exactly_as_before(case: dict[str, Any]) -> None:
    """The fourteen calibration states (with and without their priorities) and 300 seeded
    random submissions: the whole result and the stored row hash as they did when made with
    the code before results were built as JSON values and the ranking read its tables."""
    assert FIXTURE["quiz_version"] == SCORER.quiz.version
    submission = _submission(case["answers"], case["priorities"], case["state"])
    computed, result = SCORER.compute_and_explain(submission)
    assert _sha256(result) == case["result_sha256"]
    assert _sha256(computed.model_dump(mode="json", exclude_defaults=True)) == case["stored_sha256"]


def _answer_sets() -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries(
        {q.id: st.sampled_from([o.id for o in q.options] + ["skip"]) for q in SCORER.quiz.questions}
    ).map(lambda d: {k: v for k, v in d.items() if v != "skip"})


@settings(max_examples=150, deadline=None)
@given(
    _answer_sets(),
    st.lists(st.sampled_from(sorted(SCORER.conditions)), max_size=3, unique=True),
    st.sampled_from([None, "OH", "KY", "NH"]),
    st.integers(min_value=1, max_value=12),
)
def test_json_values_are_the_result_model_dumped(  # type: ignore[no-untyped-def]
    answers, priorities, state, top
) -> None:
    """Field for field and in the model's order, so a result answered at submission, kept and
    read back serialises to the same bytes; explained for `top` recommendations it is the
    whole result cut to `top`; and a stored row explains back to it."""
    submission = _submission(answers, priorities, state)
    computed, whole = SCORER.compute_and_explain(submission)
    assert to_json(whole) == to_json(Result.model_validate(whole).model_dump(mode="json"))
    _, cut = SCORER.compute_and_explain(submission, top)
    assert to_json(cut) == to_json({**whole, "recommendations": whole["recommendations"][:top]})
    stored = SCORER.explained(computed, submission.answers, state)
    assert to_json(stored) == to_json(whole)
    assert to_json(SCORER.explain(computed, submission.answers, state).model_dump(mode="json")) == (
        to_json(whole)
    )
