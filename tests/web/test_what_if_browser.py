"""What-if in Chromium: live by keyboard with JavaScript (announced, no reload), the form
round trip without it, axe, and a phone's width."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from quiz import Quiz
from tests.scoring.support import every_question_at, option_for
from tests.support import LiveServer, live_server
from tests.web.conftest import ARTIFACTS, axe_violations

pytestmark = pytest.mark.browser
BEFORE = every_question_at(1) | {"funding": 0}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    with live_server(f"sqlite:///{tmp_path_factory.mktemp('whatif') / 'quiz.db'}") as srv:
        yield srv


@pytest.fixture(scope="module")
def stored_id(site: LiveServer, quiz: Quiz) -> str:
    answers = [{"question_id": q, "option_id": option_for(q, s)} for q, s in BEFORE.items()]
    r = httpx.post(
        f"{site.base_url}/api/v1/responses",
        json={"quiz_version": quiz.version, "answers": answers},
    )
    return str(r.json()["id"])


def test_what_if_updates_live_by_keyboard(browser, site, stored_id: str, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=site.base_url)
    page = context.new_page()
    page.goto(f"/results/{stored_id}")
    page.get_by_role("link", name="Try other answers").click()
    page.wait_for_url(f"**/results/{stored_id}/what-if")
    url = page.url
    summary = page.locator("#whatif-summary")
    assert summary.get_attribute("aria-live") == "polite"
    # Keyboard only: focus the checked funding answer, arrow down to Statewide Transformation.
    page.focus(f"#funding-{option_for('funding', 0)}")
    ids = [o.id for o in quiz.questions_for("responsive-funding-systems")[0].options]
    steps = ids.index(option_for("funding", 3)) - ids.index(option_for("funding", 0))
    for _ in range(steps):
        page.keyboard.press("ArrowDown")
    assert page.locator(f"#funding-{option_for('funding', 3)}").is_checked()
    expect(summary).to_contain_text("Responsive Funding Systems moved from 1st")
    assert page.url == url  # no reload
    assert page.locator("table.changes").is_visible()
    assert page.locator("#changes-body tr").count() == 11
    row = page.locator("#changes-body tr", has_text="Responsive Funding Systems")
    assert "down" in row.inner_text()
    assert page.locator("#save-version").is_visible()
    page.screenshot(path=ARTIFACTS / "what-if-live.png", full_page=True)
    # Printed, the comparison is the report: no form, no save button, no site chrome.
    page.emulate_media(media="print")
    assert page.locator("table.changes").is_visible()
    assert not page.locator("#whatif-form").is_visible()
    assert not page.locator("#save-version").is_visible()
    assert not page.locator("header.site").is_visible()
    context.close()


def test_what_if_without_javascript(browser, site, stored_id: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=site.base_url, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"/results/{stored_id}/what-if")
    assert not page.locator("table.changes").is_visible()
    page.locator(f"label[for='funding-{option_for('funding', 3)}']").click()
    page.click("#whatif-submit")
    page.wait_for_url("**/what-if?*")
    assert (
        "Responsive Funding Systems moved from 1st" in page.locator("#whatif-summary").inner_text()
    )
    assert page.locator("#changes-body tr").count() == 11
    page.get_by_role("button", name="Save this version").click()
    page.wait_for_url("**/results/*")
    assert "A changed version of" in page.content()
    context.close()


@pytest.mark.parametrize("width", [375, 1280])
def test_what_if_is_accessible_and_fits_a_phone(browser, site, stored_id: str, width: int) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        base_url=site.base_url, bypass_csp=True, viewport={"width": width, "height": 800}
    )
    page = context.new_page()
    changed = f"funding={option_for('funding', 3)}"
    page.goto(f"/results/{stored_id}/what-if?{changed}")
    assert page.locator("table.changes").is_visible()
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
