"""How much of the advice comes from the state's own answers (issue 21's figures).

Scores each state of a calibration file (default: the fourteen states of
tests/fixtures/calibration/answers-2026-12.1.json, each answer with its basis) with the current
content, without priorities and with the state's own, plus a state with nothing at all, and
prints: the share of "Begin here" slots placed by a fixed order of ours (`sequence`) and by a tie
(equals, shown in the framework's listing order); first slots decided either way; the most
frequent first condition; Vision's rank for every state without a profile; the distinct
"Begin here" lists; each question's modal share; and one line per state, with the conditions
it is told to check first (unknown stages, above "Begin here").

    python bench/advice.py [answers.json] [--json]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quiz import load_content  # noqa: E402
from scoring import Result, Scorer, Submission  # noqa: E402

DEFAULT = (
    Path(__file__).resolve().parent.parent / "tests/fixtures/calibration/answers-2026-12.1.json"
)
VISION = "vision-for-student-success"
NOTHING = "(nothing at all)"


def nothing_at_all(scorer: Scorer) -> dict[str, Any]:
    """Every question at its first option: what a state with nothing answers."""
    return {
        "answers": {
            q.id: {"option": next(o.id for o in q.options if o.stage is not None)}
            for q in scorer.quiz.questions
        },
        "priorities": [],
    }


def score(scorer: Scorer, state: str, entry: dict[str, Any], priorities: bool) -> Result:
    submission = Submission.model_validate(
        {
            "quiz_version": scorer.quiz.version,
            "answers": [
                {"question_id": q, "option_id": a["option"]} for q, a in entry["answers"].items()
            ],
            "context": {"state": state if len(state) == 2 else None},
            "priorities": entry.get("priorities", []) if priorities else [],
        }
    )
    return scorer.score(submission, top=len(scorer.conditions))


def figures(scorer: Scorer, states: dict[str, dict[str, Any]], priorities: bool) -> dict[str, Any]:
    rows = {code: score(scorer, code, entry, priorities) for code, entry in states.items()}
    slots = sequence = tie = first_sequence = first_tie = 0
    firsts: Counter[str] = Counter()
    lists = set()
    vision_rank: dict[str, int] = {}
    for code, result in rows.items():
        by_slug = {r.slug: r for r in result.recommendations}
        shown = [by_slug[s] for s in result.begin_here]
        lists.add(tuple(result.begin_here))
        slots += len(shown)
        sequence += sum(r.order_basis == "sequence" for r in shown)
        tie += sum(r.order_basis == "tie" for r in shown)
        first_sequence += shown[0].order_basis == "sequence"
        first_tie += shown[0].order_basis == "tie"
        firsts[shown[0].slug] += 1
        if states[code]["answers"].get("vision-statewide", {}).get("option") == "not-started":
            vision_rank[code] = by_slug[VISION].rank
    most, most_count = firsts.most_common(1)[0]
    return {
        "states": len(rows),
        "slots": slots,
        "sequence_slots": sequence,
        "tie_slots": tie,
        "first_by_sequence": first_sequence,
        "first_by_tie": first_tie,
        "most_frequent_first": [most, most_count],
        "vision_rank_without_profile": vision_rank,
        "distinct_begin_here": len(lists),
        # Unknown stages, listed above "Begin here" as facts to confirm, with what they unlock.
        "check_first": {
            code: [[c.slug, c.unlocks] for c in result.check_first]
            for code, result in rows.items()
            if result.check_first
        },
        "lines": {
            code: [
                (r.slug, r.order_basis)
                for s in result.begin_here
                for r in result.recommendations
                if r.slug == s
            ]
            for code, result in rows.items()
        },
    }


def modal_shares(states: dict[str, dict[str, Any]]) -> dict[str, tuple[str, float]]:
    counts: dict[str, Counter[str]] = {}
    for entry in states.values():
        for question, answer in entry["answers"].items():
            counts.setdefault(question, Counter())[answer["option"]] += 1
    return {
        q: (c.most_common(1)[0][0], c.most_common(1)[0][1] / sum(c.values()))
        for q, c in counts.items()
    }


def report(path: Path = DEFAULT) -> dict[str, Any]:
    scorer = Scorer(*load_content())
    data = json.loads(path.read_text())
    if data["quiz_version"] != scorer.quiz.version:
        raise SystemExit(f"{path} answers quiz {data['quiz_version']}, not {scorer.quiz.version}")
    states = data["states"]
    nothing = score(scorer, NOTHING, nothing_at_all(scorer), priorities=False)
    return {
        "quiz_version": scorer.quiz.version,
        "without_priorities": figures(scorer, states, priorities=False),
        "with_priorities": figures(scorer, states, priorities=True),
        "nothing_at_all": {
            "begin_here": nothing.begin_here,
            "vision_rank": next(r.rank for r in nothing.recommendations if r.slug == VISION),
        },
        "modal_share": modal_shares(states),
    }


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv and not argv[0].startswith("--") else DEFAULT
    out = report(path)
    if "--json" in argv:
        print(json.dumps(out, indent=1))
        return
    print(f"quiz {out['quiz_version']}, {path.name}")
    for label in ("without_priorities", "with_priorities"):
        f = out[label]
        print(f"\n{label.replace('_', ' ')} ({f['states']} states, {f['slots']} Begin-here slots)")
        print(
            f"  slots placed by a fixed order of ours (sequence): {f['sequence_slots']}/{f['slots']}"
        )
        print(
            f"  slots that are ties (equals, listed in framework order): {f['tie_slots']}/{f['slots']}"
        )
        print(
            f"  first slots by a fixed order: {f['first_by_sequence']}/{f['states']}; by a tie: {f['first_by_tie']}/{f['states']}"
        )
        print(
            f"  most frequent first condition: {f['most_frequent_first'][0]} ({f['most_frequent_first'][1]}/{f['states']})"
        )
        print(f"  Vision's rank where no state profile: {f['vision_rank_without_profile']}")
        print(f"  distinct Begin-here lists: {f['distinct_begin_here']}/{f['states']}")
        for code, line in f["lines"].items():
            print(f"    {code}: " + "; ".join(f"{slug} ({basis})" for slug, basis in line))
            for slug, unlocks in f["check_first"].get(code, []):
                print(
                    f"        check first: {slug}"
                    + (f" (unlocks {', '.join(unlocks)})" if unlocks else "")
                )
    n = out["nothing_at_all"]
    print(
        f"\nstate with nothing at all: Vision rank {n['vision_rank']}; Begin here {n['begin_here']}"
    )
    print("\nmodal share per question:")
    for q, (option, share) in out["modal_share"].items():
        print(f"  {q}: {option} {share:.0%}")


if __name__ == "__main__":
    main(sys.argv[1:])
