"""The insights page and a result page with peer benchmarks, in Chromium, with axe."""

from __future__ import annotations

import json

import pytest

from quiz import Quiz
from scoring import Scorer
from tests.api.test_export import FIXTURE, TOKEN, K, store
from tests.support import live_server, migrated
from tests.web.conftest import ARTIFACTS, axe_violations

pytestmark = pytest.mark.browser


def test_insights_and_peer_benchmarks(
    browser, tmp_path, scorer: Scorer, quiz: Quiz, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    store(url, scorer, FIXTURE, monkeypatch)
    monkeypatch.undo()
    with live_server(url, export_token=TOKEN, min_group_size=K) as site:
        context = browser.new_context(base_url=site.base_url, bypass_csp=True)
        page = context.new_page()
        page.goto("/insights")
        assert axe_violations(page) == []
        page.fill("#token", TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("svg.chart")
        # Ranked first, 11 conditions and the responses released by month.
        assert page.locator("svg.chart").count() == 13
        assert "10 responses" in page.inner_text("main")
        violations = axe_violations(page)
        assert violations == [], json.dumps(violations, indent=1)
        page.screenshot(path=ARTIFACTS / "insights.png", full_page=True)

        page.goto("/quiz")
        page.evaluate("document.getElementById('ctx-state').value = 'OH'")
        for q in quiz.questions:
            page.evaluate(f"document.getElementById('{q.id}-{q.options[0].id}').checked = true")
        with page.expect_navigation():
            page.evaluate("document.getElementById('quiz-form').submit()")
        peers = page.locator(".peer")
        assert peers.count() == 22  # all respondents and Ohio's, for every condition
        # The new response waits for its batch (Ohio, no role): still the fixture's 10.
        assert "Of 10 responses from all respondents" in peers.first.inner_text()
        assert "Of 6 responses from respondents for Ohio" in peers.nth(1).inner_text()
        violations = axe_violations(page)
        assert violations == [], json.dumps(violations, indent=1)
        page.screenshot(path=ARTIFACTS / "result-with-peers.png", full_page=True)
        context.close()


def _show(page, **fields: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Fill the real filter form as an analyst would (untouched fields left empty) and press
    Show; the status of the page it leads to and its main text."""
    page.goto("/insights")
    for name, value in fields.items():
        if name in ("state", "role", "partner"):
            page.select_option(f"#f-{name}", value)
        else:
            page.fill(f"#f-{name}", value)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Show").click()
    return navigation.value.status, page.inner_text("main")


FILTERS = {
    "state": "OH",
    "role": "legislator",
    "partner": "news",
    "since": "2026-11-01",
    "until": "2026-11-04",
}


def test_the_filter_form_works_with_each_filter_alone_and_together(
    browser, tmp_path, scorer: Scorer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Pressing Show sends every field, the empty ones as `name=`: empty means "not set"
    (it used to answer 422 for an empty date). A wrong filter is named next to its field, with
    a link to it, and the form keeps what was typed."""
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    store(url, scorer, FIXTURE, monkeypatch)
    monkeypatch.undo()
    with live_server(url, export_token=TOKEN, min_group_size=K) as site:
        context = browser.new_context(base_url=site.base_url)
        page = context.new_page()
        page.goto("/insights")
        page.fill("#token", TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("form.filters")

        status, text = _show(page)
        assert status == 200 and "10 responses match" in text
        assert "since=&until=" in page.url  # the browser sent the empty fields
        for name, value in FILTERS.items():
            status, text = _show(page, **{name: value})
            assert status == 200, (name, text[:300])
            assert "responses match" in text or "Too few responses match" in text, name
            assert f"{name}={value}" in page.url
        assert "6 responses match" in _show(page, state="OH")[1]
        assert "8 responses match" in _show(page, since="2026-11-01")[1]
        # Ohio's legislators through "news" answered on 4 and 5 November: their batch was
        # released on the 5th, after this period (dates are release dates).
        status, text = _show(page, **FILTERS)
        assert status == 200 and "No responses match these filters" in text
        for name, value in FILTERS.items():
            assert page.input_value(f"#f-{name}") == value  # the page shows what it filtered on

        status, text = _show(page, since="2026-11-06", until="2026-11-01")
        assert status == 422
        summary = page.locator("#error-summary")
        assert "The end date is before the start date." in summary.inner_text()
        summary.get_by_role("link").click()
        assert page.evaluate("document.activeElement.id") == "f-until"
        assert page.input_value("#f-since") == "2026-11-06"  # kept as typed
        assert page.get_attribute("#f-until", "aria-invalid") == "true"
        context.close()


# Every text of every chart: its size on screen, and whether it overlaps a bar or another text.
CHART_GEOMETRY = """() => {
  const box = (e) => e.getBoundingClientRect();
  const meet = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
                         a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const found = {smallest: 99, overlaps: [], outside: [], texts: 0};
  for (const svg of document.querySelectorAll('svg.chart, svg.heatmap')) {
    const frame = box(svg);
    const texts = [...svg.querySelectorAll('text')];
    const bars = [...svg.querySelectorAll('rect.chart-bar')];
    for (const [i, t] of texts.entries()) {
      found.texts += 1;
      const size = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
      found.smallest = Math.min(found.smallest, size);
      const b = box(t);
      if (b.right > frame.right + 0.5 || b.left < frame.left - 0.5) found.outside.push(t.textContent);
      for (const bar of bars) if (meet(b, box(bar))) found.overlaps.push([t.textContent, 'bar']);
      for (const u of texts.slice(i + 1)) if (meet(b, box(u))) found.overlaps.push([t.textContent, u.textContent]);
    }
  }
  return found;
}"""


@pytest.mark.parametrize("width", [375, 1280])
def test_comparisons_are_readable_and_mark_small_groups(
    browser, tmp_path, scorer: Scorer, monkeypatch, width: int
) -> None:  # type: ignore[no-untyped-def]
    """States, roles and months side by side, at a phone's width and a desktop's: every chart
    text at least 12 px on screen, none overlapping a bar or another text or leaving its chart;
    the groups below MIN_GROUP_SIZE (read at 5, released at 2) marked "too few" with no size;
    axe finds nothing."""
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    store(url, scorer, FIXTURE, monkeypatch)
    monkeypatch.undo()
    with live_server(url, export_token=TOKEN, min_group_size=5) as site:
        context = browser.new_context(
            base_url=site.base_url, bypass_csp=True, viewport={"width": width, "height": 900}
        )
        page = context.new_page()
        page.goto("/insights")
        page.fill("#token", TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("svg.heatmap")
        for title in ("States side by side", "Roles side by side", "By month of release"):
            assert page.get_by_role("heading", name=title).is_visible()
        states = page.locator("section:has(#compare-state) svg.heatmap").text_content() or ""
        assert "n=6" in states and "too few" in states and "n=4" not in states
        table = page.get_by_role(
            "table", name="States side by side: percentage at stage 2 or beyond, by condition"
        )
        assert "Ohio (6 responses)" in table.inner_text()
        assert (
            "Kentucky (too few)" in table.inner_text() and "4 responses" not in table.inner_text()
        )
        # Ohio's funding answers: stage 3 once of 6 released (the second Ohio agency batch waits).
        row = table.get_by_role("row", name="Responsive Funding Systems")
        assert row.get_by_role("cell").all_inner_texts() == ["Too few", "17%"]  # KY, OH
        geometry = page.evaluate(CHART_GEOMETRY)
        assert geometry["texts"] > 100
        assert geometry["smallest"] >= 12, geometry
        assert geometry["overlaps"] == [] and geometry["outside"] == [], geometry
        violations = axe_violations(page)
        assert violations == [], json.dumps(violations, indent=1)
        page.screenshot(path=ARTIFACTS / f"insights-compare-{width}.png", full_page=True)
        for by in ("state", "month"):
            section = page.locator(f"section:has(#compare-{by})")
            section.screenshot(path=ARTIFACTS / f"insights-compare-{by}-{width}.png")
        page.locator("section.insight").last.screenshot(
            path=ARTIFACTS / f"insights-stages-{width}.png"
        )
        context.close()
