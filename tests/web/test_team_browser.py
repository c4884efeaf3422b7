"""Team mode in Chromium: a lead creates a team, three members answer through the join link in
separate browser contexts, and the lead sees where they disagree; axe on every team page and a
phone's width."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from quiz import Quiz
from tests.scoring.support import every_question_at, option_for
from tests.support import LiveServer, live_server
from tests.web.conftest import ARTIFACTS, axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    with live_server(f"sqlite:///{tmp_path_factory.mktemp('teams') / 'quiz.db'}") as srv:
        yield srv


def member_answers(browser, site: LiveServer, join_url: str, quiz: Quiz, funding: int) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=site.base_url, java_script_enabled=False)
    page = context.new_page()
    page.goto(join_url)
    assert "member of the team" in page.content()
    stages = every_question_at(1) | {"funding": funding}
    for q, stage in stages.items():
        page.locator(f"label[for='{q}-{option_for(q, stage)}']").click()
    page.select_option("#ctx-role", "state-board")
    page.click("#quiz-submit")
    page.wait_for_url("**/results/*")
    context.close()


def test_a_team_of_three_and_the_lead_sees_disagreement(browser, site, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    lead = browser.new_context(base_url=site.base_url, bypass_csp=True)
    page = lead.new_page()
    page.goto("/teams/new")
    assert axe_violations(page) == []
    page.fill("#team-name", "Ohio leadership")
    page.select_option("#team-state", "OH")
    page.get_by_role("button", name="Start the team").click()
    assert axe_violations(page) == []
    join_url = page.input_value("#join-url")
    lead_url = page.input_value("#lead-url")
    team_url = page.input_value("#team-url")

    for funding in (1, 1, 3):
        member_answers(browser, site, join_url, quiz, funding)

    page.goto(lead_url)
    row = page.locator("table.team-table tr.disagreement")
    assert row.count() == 1
    assert "Responsive Funding Systems" in row.inner_text()
    assert "Talk about this first" in row.inner_text()
    assert axe_violations(page) == []
    page.screenshot(path=ARTIFACTS / "team-page.png", full_page=True)
    page.emulate_media(media="print")
    assert page.locator("table.team-table").is_visible()
    assert not page.get_by_role("button", name="Close the team now").is_visible()
    assert not page.locator("header.site").is_visible()
    lead.close()

    phone = browser.new_context(base_url=site.base_url, viewport={"width": 375, "height": 740})
    small = phone.new_page()
    small.goto(team_url)
    assert "3 members have answered" in small.content()
    assert small.evaluate("document.documentElement.scrollWidth") <= 375
    small.goto("/teams/new")
    assert small.evaluate("document.documentElement.scrollWidth") <= 375
    phone.close()
