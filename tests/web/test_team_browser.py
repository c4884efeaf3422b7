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


def member_answers(  # type: ignore[no-untyped-def]
    browser, site: LiveServer, join_url: str, quiz: Quiz, funding: int, note: str | None = None
) -> None:
    context = browser.new_context(base_url=site.base_url, java_script_enabled=False)
    page = context.new_page()
    page.goto(join_url)
    assert "member of the team" in page.content()
    stages = every_question_at(1) | {"funding": funding}
    for q, stage in stages.items():
        page.locator(f"label[for='{q}-{option_for(q, stage)}']").click()
    if note:
        page.locator("#note-funding").locator("xpath=ancestor::details/summary").click()
        page.fill("#note-funding", note)
        page.fill("#link-funding", "https://example.org/budget")
    page.select_option("#ctx-role", "state-board")
    page.click("#quiz-submit")
    page.wait_for_url("**/results/*")
    # The member's own result says which team it counts for (its name only).
    assert "This response counts for the team “Ohio leadership”." in page.inner_text("main")
    context.close()


def table_fits(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        page.evaluate(
            "(() => { const t = document.querySelector('table.team-table');"
            " return t.scrollWidth <= t.parentElement.clientWidth"
            " && document.documentElement.scrollWidth <= document.documentElement.clientWidth; })()"
        )
    )


def test_a_team_of_three_with_evidence_ends_with_an_agenda(browser, site, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    lead = browser.new_context(
        base_url=site.base_url, bypass_csp=True, viewport={"width": 1280, "height": 900}
    )
    page = lead.new_page()
    page.goto("/")
    page.get_by_role("link", name="Answer with your team").click()
    page.wait_for_url("**/teams/new")
    assert axe_violations(page) == []
    page.fill("#team-name", "Ohio leadership")
    page.select_option("#team-state", "OH")
    page.get_by_role("button", name="Start the team").click()
    assert axe_violations(page) == []
    join_url = page.input_value("#join-url")
    lead_url = page.input_value("#lead-url")
    team_url = page.input_value("#team-url")

    for funding, note in ((1, "FY26 budget <line 4>"), (1, None), (3, "Formula study, 2025")):
        member_answers(browser, site, join_url, quiz, funding, note)

    page.goto(lead_url)
    # The lead finds the join link again.
    assert page.input_value("#join-url") == join_url
    agenda = page.locator(".agenda-item")
    assert agenda.count() == 1
    first = agenda.first
    text = first.inner_text()
    assert "Responsive Funding Systems" in text and "1.3 stages apart" in text
    # How answers split: counts per option, never who.
    counts = first.locator(".split-options li").all_inner_texts()
    assert sum(int(c.split()[0]) for c in counts) == 3
    assert "FY26 budget <line 4>" in text and "Formula study, 2025" in text
    assert first.locator("a[href='https://example.org/budget']").first.get_attribute("rel") == (
        "noopener nofollow"
    )
    # Only the agenda's conditions are flagged in the table (was 10 of 11).
    assert page.locator("table.team-table tr.on-agenda").count() == 1
    assert table_fits(page)
    assert axe_violations(page) == []
    page.screenshot(path=ARTIFACTS / "team-page.png", full_page=True)
    page.screenshot(path=ARTIFACTS / "team-page-1280.png", full_page=True)
    page.emulate_media(media="print")
    assert page.locator("table.team-table").is_visible() and table_fits(page)
    assert not page.get_by_role("button", name="Close the team now").is_visible()
    assert not page.locator("header.site").is_visible()
    lead.close()

    phone = browser.new_context(
        base_url=site.base_url, bypass_csp=True, viewport={"width": 375, "height": 740}
    )
    small = phone.new_page()
    small.goto(team_url)
    assert "3 members have answered" in small.content()
    assert small.locator("#join-url").count() == 0  # only with the lead link
    assert table_fits(small)
    assert axe_violations(small) == []
    small.screenshot(path=ARTIFACTS / "team-page-375.png", full_page=True)
    rows = small.locator("table.team-table tbody tr")
    tallest = max(r.bounding_box()["height"] for r in rows.all())
    assert tallest < 200, tallest
    small.goto("/teams/new")
    assert small.evaluate("document.documentElement.scrollWidth") <= 375
    phone.close()
