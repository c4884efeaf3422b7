"""The insights page and a result page with peer benchmarks, in Chromium, with axe."""

from __future__ import annotations

import json

import pytest

from quiz import Quiz
from scoring import Scorer
from tests.api.test_export import FIXTURE, TOKEN, store
from tests.support import live_server, migrated
from tests.web.conftest import ARTIFACTS, axe_violations

pytestmark = pytest.mark.browser


def test_insights_and_peer_benchmarks(
    browser, tmp_path, scorer: Scorer, quiz: Quiz, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    store(url, scorer, FIXTURE, monkeypatch)
    monkeypatch.undo()
    with live_server(url, export_token=TOKEN) as site:
        context = browser.new_context(base_url=site.base_url, bypass_csp=True)
        page = context.new_page()
        page.goto("/insights")
        assert axe_violations(page) == []
        page.fill("#token", TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("svg.chart")
        assert page.locator("svg.chart").count() == 12
        assert "9 responses" in page.inner_text("main")
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
        assert "Of 10 responses from all respondents" in peers.first.inner_text()
        violations = axe_violations(page)
        assert violations == [], json.dumps(violations, indent=1)
        page.screenshot(path=ARTIFACTS / "result-with-peers.png", full_page=True)
        context.close()
