"""Scoring speed, side by side with a bare baseline in the same run (run by `make bench`).

Scores a fixed set of pseudo-random submissions (seeded, so runs compare) through
`Scorer.score`, the same call the API makes, and reports it as a ratio to a bare baseline: the
same stage estimate and ranking done with plain dicts and tuples, no explanations and no result
model. The ratio is what to watch; absolute figures vary with the machine.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quiz import Quiz, load_content  # noqa: E402
from scoring import DEFAULT_TOP, Scorer, Submission  # noqa: E402

ROUNDS = 7
SUBMISSIONS = 2_000


def make_submissions(quiz: Quiz, n: int) -> list[Submission]:
    rnd = random.Random(20261123)
    subs = []
    for _ in range(n):
        answers = [
            {"question_id": q.id, "option_id": rnd.choice(q.options).id}
            for q in quiz.questions
            if rnd.random() < 0.9
        ]
        rnd.shuffle(answers)
        subs.append(Submission.model_validate({"quiz_version": quiz.version, "answers": answers}))
    return subs


def bare_baseline(scorer: Scorer) -> Callable[[Submission], list[str]]:
    """The least work any scorer must do: look up each answer, take the lowest stage per
    condition, sort. What `Scorer.score` adds on top is validation, reasons and the model."""
    stage_of = {key: (slug, ev.stage) for key, (slug, ev) in scorer.evidence.items()}
    order = scorer.sequence

    def run(submission: Submission) -> list[str]:
        lowest: dict[str, int] = {}
        for a in submission.answers:
            slug, stage = stage_of[(a.question_id, a.option_id)]
            if stage is not None and stage < lowest.get(slug, 9):
                lowest[slug] = stage
        return sorted(order, key=lambda s: (lowest.get(s, 4), order[s]))

    return run


def one_round_us(fn: Callable[[Submission], object], subs: list[Submission]) -> float:
    start = time.perf_counter()
    for sub in subs:
        fn(sub)
    return (time.perf_counter() - start) / len(subs) * 1e6


def main() -> None:
    scorer = Scorer(*load_content())
    subs = make_submissions(scorer.quiz, SUBMISSIONS)
    baseline = bare_baseline(scorer)
    timed: dict[str, Callable[[Submission], object]] = {
        "Scorer.score": scorer.score,
        # What a submission runs (app/responses/submissions.py): decided once, stored and
        # answered as JSON values, the first three recommendations worded.
        "submission": lambda s: scorer.compute_and_explain(s, DEFAULT_TOP),
        "parse": lambda s: Submission.model_validate(s.model_dump()),
    }
    for fn in (baseline, *timed.values()):
        for sub in subs[:50]:  # warm-up
            fn(sub)
    # Rounds interleaved, each timing right after the baseline's, so that the VM's speed, which
    # drifts within seconds, moves both sides of a ratio alike.
    names = ["bare baseline", *timed]
    rounds: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(ROUNDS):
        base = one_round_us(baseline, subs)
        rounds["bare baseline"].append(base)
        ratios["bare baseline"].append(1.0)
        for name, fn in timed.items():
            took = one_round_us(fn, subs)
            rounds[name].append(took)
            ratios[name].append(took / base)
    for name in names:
        median = statistics.median(rounds[name])
        print(
            f"{name:>14}: {median:7.1f} µs per submission (best {min(rounds[name]):.1f}; "
            f"median of {ROUNDS} rounds x {SUBMISSIONS}) = "
            f"{statistics.median(ratios[name]):5.1f} x baseline (median of the rounds' ratios)"
        )


if __name__ == "__main__":
    main()
