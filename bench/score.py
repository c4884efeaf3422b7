"""Scoring throughput: microseconds per submission on one core (run by `make bench`).

Scores a fixed set of pseudo-random submissions (seeded, so runs compare) through
`build_result`, the same function the API calls, and prints the median of several rounds.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quiz import get_framework, get_quiz  # noqa: E402
from scoring import Submission, build_result  # noqa: E402

ROUNDS = 7
SUBMISSIONS = 2_000


def make_submissions(n: int) -> list[Submission]:
    quiz = get_quiz()
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


def main() -> None:
    framework, quiz = get_framework(), get_quiz()
    subs = make_submissions(SUBMISSIONS)
    for sub in subs[:50]:  # warm-up
        build_result(sub, quiz=quiz, framework=framework)
    per_call = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for sub in subs:
            build_result(sub, quiz=quiz, framework=framework)
        per_call.append((time.perf_counter() - start) / len(subs) * 1e6)
    print(
        f"scoring: {statistics.median(per_call):.1f} µs per submission (median of {ROUNDS} rounds x {SUBMISSIONS}; best {min(per_call):.1f} µs)"
    )
    start = time.perf_counter()
    for sub in subs:
        Submission.model_validate(sub.model_dump())
    parse = (time.perf_counter() - start) / len(subs) * 1e6
    print(f"parsing a submission (pydantic): {parse:.1f} µs")


if __name__ == "__main__":
    main()
