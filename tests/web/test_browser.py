"""The pages in a real browser: Debian's Chromium driven by Playwright.

Covers completing the quiz by mouse and by keyboard, the share link in a fresh context, the
incomplete form, JavaScript turned off, axe-core on every page, a 375-px phone screen, page
weight and third-party requests. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from quiz import Quiz
from tests.support import LiveServer, live_server, missing
from tests.web.conftest import ARTIFACTS, AXE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    with live_server(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'quiz.db'}") as srv:
        yield srv


@pytest.fixture
def page(browser, site):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=site.base_url)
    page = context.new_page()
    yield page
    context.close()


def answer_all_by_mouse(page, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    """Click one option per question, following the step-by-step enhancement when it is on."""
    for i, q in enumerate(quiz.questions):
        option = q.options[i % len(q.options)]
        target = page.locator(f"#{q.id}-{option.id}")
        while not target.is_visible():
            page.get_by_role("button", name="Next").locator("visible=true").first.click()
        page.locator(f"label[for='{q.id}-{option.id}']").click()
        assert target.is_checked()
    while not page.locator("#quiz-submit").is_visible():
        page.get_by_role("button", name="Next").locator("visible=true").first.click()


def test_complete_quiz_by_mouse(page, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.screenshot(path=ARTIFACTS / "landing.png", full_page=True)
    page.get_by_role("link", name="Start the quiz").click()
    assert page.locator("#progress").inner_text().startswith("Step 1 of 5")
    answer_all_by_mouse(page, quiz)
    n = len(quiz.questions)
    assert f"{n} of {n} questions answered" in page.locator("#progress").inner_text()
    page.select_option("#ctx-state", "OH")
    page.select_option("#ctx-role", "state-agency")
    page.click("#quiz-submit")
    page.wait_for_url("**/results/*")
    assert page.get_by_role("heading", name="Where your state should begin").is_visible()
    assert "For Ohio" in page.locator(".lead").inner_text()
    assert page.locator(".recommendation").count() == 3
    assert page.locator(".bar-row").count() == 11
    page.screenshot(path=ARTIFACTS / "result.png", full_page=True)
    # the print stylesheet turns the page into a clean report: no site chrome, no share box
    page.emulate_media(media="print")
    assert page.locator("header.site").is_hidden() and page.locator(".share").is_hidden()
    assert page.locator(".recommendation").first.is_visible()
    page.pdf(path=ARTIFACTS / "result.pdf")
    assert (ARTIFACTS / "result.pdf").stat().st_size > 10_000


def test_complete_quiz_by_keyboard_alone(page, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    page.goto("/quiz")
    chosen: set[str] = set()
    for _ in range(400):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; return {tag: e.tagName, type: e.type || '', name: e.name || '', id: e.id, text: e.textContent.trim()}; }"
        )
        if focused["type"] == "radio" and focused["name"] not in chosen:
            page.keyboard.press("ArrowDown")  # moves to and checks the next option in the group
            chosen.add(focused["name"])
        elif focused["id"] == "priority-measuring-success":
            page.keyboard.press("Space")  # a checkbox: Space ticks it
            assert page.locator("#priority-measuring-success").is_checked()
        elif focused["tag"] == "BUTTON" and focused["text"] == "Next":
            page.keyboard.press("Enter")
        elif focused["id"] == "quiz-submit":
            assert chosen == {q.id for q in quiz.questions}
            page.keyboard.press("Enter")
            break
    else:
        pytest.fail("never reached the submit button by keyboard")
    page.wait_for_url("**/results/*")
    assert page.locator(".recommendation").count() >= 1
    response_id = page.url.rsplit("/", 1)[1]
    stored = page.request.get(f"/api/v1/responses/{response_id}").json()
    assert stored["result"]["priorities"] == ["measuring-success"]
    # the skip link is the first stop and is visible on focus
    page.keyboard.press("Tab")
    page.goto("/quiz")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"


@pytest.fixture(scope="module")
def browser_with_back_cache(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """Chromium as people use it: Playwright turns the back/forward cache off by default, and
    with it on, Back shows the very form that was sent, its token included."""
    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

    with_cache = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    yield with_cache
    with_cache.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_answer_changed_after_back_is_kept(
    browser_with_back_cache, site, quiz: Quiz, javascript: bool
) -> None:  # type: ignore[no-untyped-def]
    """Submit, go Back, change an answer, submit again: the edit is stored as a new result
    linked to the first (it used to say "You already sent this form" and drop the edit); the
    first result never changes, and a second click on the edited form stores nothing more."""
    context = browser_with_back_cache.new_context(
        base_url=site.base_url, java_script_enabled=javascript
    )
    page = context.new_page()
    page.goto("/quiz")
    answer_all_by_mouse(page, quiz)
    page.select_option("#ctx-state", "KY")
    page.click("#quiz-submit")
    page.wait_for_url("**/results/*")
    first = page.url.rsplit("/", 1)[1]

    page.go_back(wait_until="commit")  # from the back/forward cache: no load event
    page.wait_for_url("**/quiz", wait_until="commit")
    question = quiz.questions[0]
    changed = question.options[1]
    while not page.locator(f"#{question.id}-{changed.id}").is_visible():
        page.get_by_role("button", name="Back").locator("visible=true").first.click()
    page.locator(f"label[for='{question.id}-{changed.id}']").click()
    while not page.locator("#quiz-submit").is_visible():
        page.get_by_role("button", name="Next").locator("visible=true").first.click()
    page.click("#quiz-submit")
    page.wait_for_url("**/results/*")
    second = page.url.rsplit("/", 1)[1]
    assert second != first
    assert "You already sent this form" not in page.content()
    assert "For Kentucky" in page.locator(".lead").inner_text()
    based_on = page.locator(".based-on")
    assert "A changed version of" in based_on.inner_text()
    assert based_on.get_by_role("link").get_attribute("href") == f"/results/{first}"

    def answer_to(response_id: str) -> str:
        """The stored answer, as the form prefilled from that result shows it."""
        prefilled = context.request.get(f"/quiz?from={response_id}").text()
        found = re.search(
            r'value="([^"]+)" checked', prefilled.split(f'name="{question.id}"', 1)[1]
        )
        assert found is not None
        return found.group(1)

    assert answer_to(second) == changed.id
    assert answer_to(first) == question.options[0].id  # the first result is as it was
    # The edited form sent twice (a double click, or Back and send again) is one result.
    page.go_back(wait_until="commit")  # from the back/forward cache: no load event
    page.wait_for_url("**/quiz", wait_until="commit")
    while not page.locator("#quiz-submit").is_visible():
        page.get_by_role("button", name="Next").locator("visible=true").first.click()
    page.click("#quiz-submit")
    page.wait_for_url("**/results/*")
    assert page.url.rsplit("/", 1)[1] == second
    context.close()


def test_share_link_opens_in_fresh_context(browser, site, page, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    page.goto("/quiz")
    answer_all_by_mouse(page, quiz)
    page.click("#quiz-submit")
    page.wait_for_url("**/results/*")
    share_url = page.input_value("#share-url")
    assert share_url == page.url
    copy = page.locator("#copy-link")
    assert copy.is_visible()
    first_recs = page.locator(".recommendation h3").all_inner_texts()
    fresh = browser.new_context()
    other = fresh.new_page()
    other.goto(share_url)
    assert other.locator(".recommendation h3").all_inner_texts() == first_recs
    fresh.close()


def test_incomplete_form_shows_errors(page, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    page.goto("/quiz")
    first = quiz.questions[0]
    page.locator(f"label[for='{first.id}-{first.options[2].id}']").click()
    with page.expect_navigation():
        page.evaluate("document.getElementById('quiz-form').submit()")
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert f"Please check {len(quiz.questions) - 1} answers" in summary.inner_text()
    assert page.locator(f"#{first.id}-{first.options[2].id}").is_checked()
    assert page.locator(".error-message").count() == len(quiz.questions) - 1
    # all steps stay visible when there are errors, and the summary links reach the questions
    assert page.locator(f"#{quiz.questions[-1].id}-error").is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    page.screenshot(path=ARTIFACTS / "quiz-errors.png", full_page=True)


def test_works_with_javascript_disabled(browser, site, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=site.base_url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/quiz")
    assert page.locator("#progress").is_hidden()
    assert all(
        page.locator(".step").nth(i).is_visible() for i in range(page.locator(".step").count())
    )
    for q in quiz.questions:
        page.locator(f"label[for='{q.id}-{q.options[-1].id}']").click()  # "I'm not sure" everywhere
    page.locator("label[for='priority-culture-of-innovation']").click()
    page.click("#quiz-submit")
    page.wait_for_url("**/results/*")
    # Nothing known: one list of every condition to confirm ("Confirm these first").
    assert page.locator(".recommendation").count() == len({q.condition for q in quiz.questions})
    assert page.locator("h2", has_text="Confirm these first").count() == 1
    assert page.locator(".check-first").count() == 0
    first = page.locator(".recommendation").first.inner_text()
    assert "confirm where your state stands" in first
    assert "Culture of Innovation" in first and "(one of your priorities)" in first
    assert page.locator("#copy-link").is_hidden()  # needs JavaScript; the link itself is shown
    assert page.input_value("#share-url").endswith(page.url.rsplit("/", 1)[1])
    page.screenshot(path=ARTIFACTS / "result-nojs.png", full_page=True)
    context.close()


def _result_url(site: LiveServer, quiz: Quiz) -> str:
    with site.client() as c:
        data = {q.id: q.options[i % 4].id for i, q in enumerate(quiz.questions)}
        # Not sure about one condition: the page then has its "Check first" section too.
        data["vision-statewide"] = "not-sure"
        r = c.post("/quiz", data={"quiz_version": quiz.version, **data, "state": "VT"})
        return r.headers["location"]


PAGES = ["/", "/quiz", "quiz-errors", "result", "/results/does-not-exist", "/quiz?embed=1"]


def _open(page, site: LiveServer, quiz: Quiz, which: str, before_final=lambda: None) -> None:  # type: ignore[no-untyped-def]
    """Open one of PAGES; `before_final` runs just before the navigation that shows it."""
    if which == "quiz-errors":
        page.goto("/quiz")
        before_final()
        with page.expect_navigation():
            page.evaluate("document.getElementById('quiz-form').submit()")
    elif which == "result":
        url = _result_url(site, quiz)
        before_final()
        page.goto(url)
    else:
        before_final()
        page.goto(which)


@pytest.mark.parametrize("which", PAGES)
def test_axe_reports_no_violations(browser, site, quiz: Quiz, which: str) -> None:  # type: ignore[no-untyped-def]
    if not AXE.exists():
        missing("axe-core (npm install)")
    # bypass_csp lets the test inject axe; the pages themselves allow no inline script
    context = browser.new_context(base_url=site.base_url, bypass_csp=True)
    page = context.new_page()
    _open(page, site, quiz, which)
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    violations = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results["violations"]
    ]
    assert violations == [], json.dumps(violations, indent=1)
    context.close()


@pytest.mark.parametrize("which", PAGES)
def test_phone_width_weight_and_no_third_parties(browser, site, quiz: Quiz, which: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=site.base_url, viewport={"width": 375, "height": 740})
    page = context.new_page()
    sizes: dict[str, int] = {}
    page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())))
    _open(page, site, quiz, which, before_final=sizes.clear)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert all(u.startswith(site.base_url) for u in sizes), sizes.keys()
    assert sum(sizes.values()) < 100_000, sizes
    name = which.strip("/").replace("/", "-").replace("?", "-").replace("=", "") or "landing"
    page.screenshot(path=ARTIFACTS / f"phone-{name}.png", full_page=True)
    context.close()
