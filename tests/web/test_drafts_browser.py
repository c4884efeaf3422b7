"""Save and resume, evidence and the one-minute result in Chromium: start the quiz, add a note and
a link, save, change an answer (saved as you go), open the private link in a new browser
context, finish, and read the summary at 1280 and 375 px; axe on every page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from quiz import Quiz
from tests.support import LiveServer, live_server
from tests.web.conftest import ARTIFACTS, axe_violations
from tests.web.test_browser import answer_all_by_mouse

pytestmark = pytest.mark.browser

NOTE = "Board minutes <4 May> & 'ESSA' plan"
LINK = "https://example.org/board/minutes?id=7"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    with live_server(f"sqlite:///{tmp_path_factory.mktemp('drafts') / 'quiz.db'}") as srv:
        yield srv


def fits(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def test_save_reopen_elsewhere_finish_read_the_summary(browser, site, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    first = browser.new_context(
        base_url=site.base_url, bypass_csp=True, viewport={"width": 1280, "height": 900}
    )
    page = first.new_page()
    page.goto("/quiz")
    q0, q1 = quiz.questions[0], quiz.questions[1]
    page.locator(f"label[for='{q0.id}-{q0.options[1].id}']").click()
    # The note and link open by keyboard: focus the summary, Enter, Tab into the note.
    summary = page.locator(f"#note-{q0.id}").locator("xpath=ancestor::details/summary")
    summary.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"note-{q0.id}"
    page.keyboard.type(NOTE)
    page.fill(f"#link-{q0.id}", LINK)
    assert axe_violations(page) == []
    page.get_by_role("button", name="Save and continue later").click()
    page.wait_for_url("**/drafts/*")
    link = page.input_value("#draft-url")
    assert link.startswith(site.base_url + "/drafts/") and "saved=1" not in link
    assert "Anyone with this link can see and change these answers." in page.inner_text(
        ".draft-link"
    )
    assert "deleted 30 days after they were last saved" in page.inner_text(".draft-link")
    assert page.get_by_role("button", name="Copy link").is_visible()
    assert page.locator(f"#note-{q0.id}").input_value() == NOTE
    assert axe_violations(page) == []
    page.screenshot(path=ARTIFACTS / "draft-1280.png", full_page=False)

    # Saved as the respondent goes: a change is sent without pressing anything.
    page.locator(f"label[for='{q1.id}-{q1.options[2].id}']").click()
    page.wait_for_function(
        "document.getElementById('draft-status').textContent.startsWith('Saved at')"
    )
    first.close()

    # The link in a new context (another browser, a colleague): the form as it was left.
    second = browser.new_context(
        base_url=site.base_url, bypass_csp=True, viewport={"width": 1280, "height": 900}
    )
    page = second.new_page()
    page.goto(link)
    assert page.locator(f"#{q0.id}-{q0.options[1].id}").is_checked()
    assert page.locator(f"#{q1.id}-{q1.options[2].id}").is_checked()
    assert page.locator(f"#note-{q0.id}").input_value() == NOTE
    assert page.locator(f"#link-{q0.id}").input_value() == LINK
    answer_all_by_mouse(page, quiz)
    page.select_option("#ctx-state", "OH")
    page.click("#quiz-submit")
    page.wait_for_url("**/results/*")
    response_id = page.url.rsplit("/", 1)[1]

    summary_box = page.locator("section.summary")
    assert summary_box.is_visible()
    assert "State: Ohio" in summary_box.inner_text()
    assert page.locator(".summary-list li").count() == 3
    assert page.locator(".strip-item").count() == 11
    # The summary is the first thing under the title.
    top = page.evaluate("document.querySelector('section.summary').getBoundingClientRect().top")
    assert top < page.evaluate(
        "document.querySelector('ol.recommendations').getBoundingClientRect().top"
    )
    assert page.get_by_role("button", name="Print or save as PDF").is_visible()
    assert page.locator("#print-hint").is_hidden()
    assert page.content().count("Too few responses") == 1
    evidence = page.locator(".evidence-given")
    assert evidence.count() == 1 and NOTE in evidence.inner_text()
    anchor = page.locator("a.evidence-link")
    assert (
        anchor.get_attribute("href") == LINK and anchor.get_attribute("rel") == "noopener nofollow"
    )
    assert page.locator("a[href='/teams/new']").count() >= 1
    assert axe_violations(page) == []
    page.screenshot(path=ARTIFACTS / "result-summary-1280.png", full_page=True)
    page.emulate_media(media="print")
    assert summary_box.is_visible() and page.locator(".actions").is_hidden()
    assert page.locator(".answers-given").is_visible()
    page.emulate_media(media="screen")

    # The draft's link now leads to the result too.
    page.goto(link)
    assert (
        page.get_by_role("link", name="see that result").get_attribute("href")
        == f"/results/{response_id}"
    )
    stored = page.request.get(f"/api/v1/responses/{response_id}").json()
    assert stored["evidence"] == [{"question_id": q0.id, "note": NOTE, "link": LINK}]
    second.close()

    phone = browser.new_context(
        base_url=site.base_url, bypass_csp=True, viewport={"width": 375, "height": 740}
    )
    small = phone.new_page()
    small.goto(f"/results/{response_id}")
    assert fits(small)
    assert small.locator("section.summary").is_visible()
    assert axe_violations(small) == []
    small.screenshot(path=ARTIFACTS / "result-summary-375.png", full_page=True)
    small.goto(link)
    assert fits(small)
    assert axe_violations(small) == []
    phone.close()


def test_saving_works_without_javascript(browser, site, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=site.base_url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/quiz")
    q0 = quiz.questions[0]
    page.locator(f"label[for='{q0.id}-{q0.options[0].id}']").click()
    page.locator(f"#note-{q0.id}").locator("xpath=ancestor::details/summary").click()
    page.fill(f"#link-{q0.id}", "javascript:alert(1)")
    page.get_by_role("button", name="Save and continue later").click()
    # Refused and named, with the answer kept.
    assert "starting with http:// or https://" in page.inner_text(".error-summary")
    assert page.locator(f"#{q0.id}-{q0.options[0].id}").is_checked()
    page.fill(f"#link-{q0.id}", "https://example.org/law")
    page.get_by_role("button", name="Save and continue later").click()
    page.wait_for_url("**/drafts/*")
    assert page.locator(f"#link-{q0.id}").input_value() == "https://example.org/law"
    # Without JavaScript the link is there to copy by hand; the print hint replaces the button.
    assert page.locator("#draft-url").is_visible()
    context.close()
