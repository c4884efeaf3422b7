"""The one-minute summary's lines and the one line on missing peer figures (app/web/pages.py)."""

from __future__ import annotations

from app.analytics.aggregates import Benchmark
from app.web.pages import summary_line, too_few_line


def rec(**fields: object) -> dict[str, object]:
    return {"focus": "advance", "next_stage": {"name": "Exploration"}, **fields}


def test_each_basis_reads_as_its_rule_and_ours_is_labelled() -> None:
    assert summary_line(rec(order_basis="stage")) == "next, Exploration; its stage places it here."
    assert "one of your priorities" in summary_line(rec(order_basis="priority", prioritized=True))
    assert "others at the same stage are your priorities" in summary_line(
        rec(order_basis="priority")
    )
    assert "our own suggested sequence" in summary_line(rec(order_basis="sequence"))
    assert "(links of our reading)" in summary_line(rec(order_basis="dependency"))
    assert "equal with others" in summary_line(rec(order_basis="tie"))
    assert summary_line(rec(focus="confirm", confidence="unsure")).startswith("You were not sure")
    # A question left unanswered (the API takes an empty list) is not a "not sure".
    assert summary_line(rec(focus="confirm", confidence="unanswered")).startswith("Not answered")
    assert summary_line(rec(order_basis="stage", prioritized=True)).endswith(
        "(one of your priorities)."
    )


def test_one_line_for_every_missing_peer_figure() -> None:
    shown = Benchmark(responses=9, suppressed=False, shares={"1": 1.0})
    hidden = Benchmark(responses=None, suppressed=True, shares={})
    slugs = ["a", "b", "c"]
    assert too_few_line([("all respondents", dict.fromkeys(slugs, shown))], slugs, 5) is None
    line = too_few_line(
        [
            ("all respondents", {"a": shown, "b": hidden}),
            ("respondents for Ohio", {}),
        ],
        slugs,
        5,
    )
    assert line == (
        "Too few responses to compare with all respondents (on 2 of 3 conditions) or with "
        "respondents for Ohio (on all 3 conditions): groups of fewer than 5 responses are not "
        "shown."
    )
