"""The widget on a partner's page, in Debian's Chromium: a second local origin embeds the quiz,
a respondent completes it inside the iframe by keyboard, the page hears the events, the iframe
follows its content's height; an unregistered origin cannot frame the quiz."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy
from sqlmodel import Session

from app.partners.registry import create_partner, revoke_partner
from quiz import Quiz
from tests.support import LiveServer, free_port, live_server, migrated
from tests.web.conftest import ARTIFACTS, axe_violations

pytestmark = pytest.mark.browser

RECORDER = """
window.events = [];
["statequiz:ready", "statequiz:step", "statequiz:completed", "statequiz:unavailable"].forEach(function (type) {
  document.addEventListener(type, function (e) {
    window.events.push({type: e.type, target: e.target.id, detail: e.detail});
  });
});
"""


def partner_page(app_url: str, widgets: int, slug: str = "news") -> str:
    state = ' data-state="OH"'
    boxes = "\n".join(
        f'<div id="w{n}" data-state-quiz data-partner="{slug}"{state if n == 1 else ""}></div>'
        for n in range(1, widgets + 1)
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>State news</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>State news: where should your state begin?</h1>{boxes}</main>
<script>{RECORDER}</script><script src="{app_url}/embed.js" async></script></body></html>"""


class PartnerSite:
    """A partner's static site on its own origin (localhost, another port)."""

    def __init__(self, root: Path):
        self.port = free_port()
        self.origin = f"http://localhost:{self.port}"
        handler = partial(SimpleHTTPRequestHandler, directory=str(root))
        handler.log_message = lambda *a: None  # type: ignore[method-assign]
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Iterator[tuple[LiveServer, PartnerSite, PartnerSite]]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("partner")
    url = migrated(f"sqlite:///{root / 'quiz.db'}")
    registered, stranger = PartnerSite(root), PartnerSite(root)
    engine = sqlalchemy.create_engine(url)
    with Session(engine) as session:
        for name, slug in (("State news", "news"), ("Gone news", "gone")):
            create_partner(
                session,
                name=name,
                slug=slug,
                origins=[registered.origin],
                webhook_url=None,
                rate_limit_per_minute=600,
                allow_private_webhooks=False,
            )
        revoke_partner(session, "gone")  # a partner whose widget is still on a page
    engine.dispose()
    with live_server(url) as app:
        (root / "one.html").write_text(partner_page(app.base_url, 1))
        (root / "two.html").write_text(partner_page(app.base_url, 2))
        (root / "mistyped.html").write_text(partner_page(app.base_url, 1, slug="newz"))
        (root / "revoked.html").write_text(partner_page(app.base_url, 1, slug="gone"))
        yield app, registered, stranger
    registered.close()
    stranger.close()


def events(page, kind: str, target: str | None = None) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    got = page.evaluate("window.events")
    return [e for e in got if e["type"] == kind and (target is None or e["target"] == target)]


def quiz_frame(page, box: str):  # type: ignore[no-untyped-def]
    handle = page.wait_for_selector(f"#{box} iframe")
    frame = handle.content_frame()
    frame.wait_for_load_state()
    return handle, frame


def complete_by_keyboard(page, frame, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    chosen: set[str] = set()
    for _ in range(500):
        page.keyboard.press("Tab")
        focused = frame.evaluate(
            "() => { const e = document.activeElement; return {type: e.type || '', name: e.name || '', id: e.id, text: e.textContent.trim()}; }"
        )
        if focused["type"] == "radio" and focused["name"] not in chosen:
            page.keyboard.press("ArrowDown")
            chosen.add(focused["name"])
        elif focused["text"] == "Next":
            page.keyboard.press("Enter")
        elif focused["id"] == "quiz-submit":
            assert chosen == {q.id for q in quiz.questions}
            page.keyboard.press("Enter")
            return
    pytest.fail("never reached the submit button by keyboard inside the iframe")


def assert_fits(handle, frame) -> None:  # type: ignore[no-untyped-def]
    """The iframe is as tall as its content: no inner scrollbar, no empty space."""
    page_height = frame.evaluate(
        "Math.ceil(document.documentElement.getBoundingClientRect().height)"
    )
    box_height = handle.evaluate("el => el.getBoundingClientRect().height")
    assert abs(box_height - page_height) <= 2, (box_height, page_height)
    assert frame.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")


@pytest.mark.parametrize("width", [1280, 375])
def test_partner_page_embeds_and_completes_the_quiz(browser, setup, quiz: Quiz, width: int) -> None:  # type: ignore[no-untyped-def]
    app, registered, _ = setup
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{registered.origin}/one.html")
    handle, frame = quiz_frame(page, "w1")
    page.wait_for_function("window.events.some(e => e.type === 'statequiz:ready')")
    assert handle.get_attribute("title")
    assert frame.locator("#ctx-state").input_value() == "OH"  # data-state prefilled it
    page.wait_for_timeout(300)
    assert_fits(handle, frame)
    complete_by_keyboard(page, frame, quiz)
    page.wait_for_function(
        "window.events.some(e => e.type === 'statequiz:completed')", timeout=15000
    )
    [done] = events(page, "statequiz:completed", "w1")
    frame = handle.content_frame()
    response_id = frame.url.split("/results/")[1].split("?")[0]
    assert done["detail"]["id"] == response_id
    assert done["detail"]["result_url"].endswith(f"/results/{response_id}")
    assert len(done["detail"]["stages"]) == 11 and 1 <= len(done["detail"]["top"]) <= 3
    assert events(page, "statequiz:step", "w1"), "answering reports steps"
    with app.client() as c:
        stored = c.get(f"/api/v1/responses/{response_id}").json()
    assert stored["partner"] == "news" and stored["context"]["state"] == "OH"
    assert done["detail"]["top"] == stored["result"]["begin_here"]
    page.wait_for_timeout(500)
    assert_fits(handle, frame)
    page.screenshot(path=ARTIFACTS / f"partner-embed-{width}.png", full_page=True)
    context.close()


def test_an_unregistered_origin_cannot_frame_the_quiz(browser, setup) -> None:  # type: ignore[no-untyped-def]
    _, _, stranger = setup
    page = browser.new_page()
    page.goto(f"{stranger.origin}/one.html")
    handle = page.wait_for_selector("#w1 iframe")
    page.wait_for_timeout(1500)
    frame = handle.content_frame()
    assert frame is None or frame.locator("#quiz-form").count() == 0
    assert events(page, "statequiz:ready") == []
    page.close()


@pytest.mark.parametrize("which", ["mistyped", "revoked"])
def test_an_unknown_or_revoked_partner_shows_why_inside_the_frame(
    browser, setup, which: str
) -> None:  # type: ignore[no-untyped-def]
    """Not Chromium's grey broken-frame box: the frame shows a readable message with a way to
    the quiz, and the host page hears `statequiz:unavailable` (and can style the box)."""
    _, registered, _ = setup
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{registered.origin}/{which}.html")
    handle, frame = quiz_frame(page, "w1")
    page.wait_for_function("window.events.some(e => e.type === 'statequiz:unavailable')")
    assert frame is not None and frame.locator("h1").inner_text() == "Page not found"
    assert "not available for embedding on this site" in frame.locator("main").inner_text()
    link = frame.get_by_role("link", name="Take the quiz on our site")
    assert link.get_attribute("target") == "_blank"
    assert page.get_attribute("#w1", "data-state-quiz-error") == "unavailable"
    assert events(page, "statequiz:ready") == []
    assert frame.locator("#quiz-form").count() == 0
    page.screenshot(path=ARTIFACTS / f"partner-embed-{which}.png")
    page.close()


def test_two_widgets_on_one_page_work_independently(browser, setup, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    _, registered, _ = setup
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{registered.origin}/two.html")
    first, frame1 = quiz_frame(page, "w1")
    second, frame2 = quiz_frame(page, "w2")
    page.wait_for_function("window.events.filter(e => e.type === 'statequiz:ready').length === 2")
    assert {e["target"] for e in events(page, "statequiz:ready")} == {"w1", "w2"}
    q = quiz.questions[0]
    frame2.locator(f"label[for='{q.id}-{q.options[1].id}']").click()
    page.wait_for_function("window.events.some(e => e.type === 'statequiz:step')")
    assert {e["target"] for e in events(page, "statequiz:step")} == {"w2"}
    assert frame1.locator(f"#{q.id}-{q.options[1].id}").is_checked() is False
    page.wait_for_timeout(300)
    assert_fits(first, frame1)
    assert_fits(second, frame2)
    page.close()


def test_axe_finds_nothing_in_the_embedded_pages(browser, setup, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    _, registered, _ = setup
    context = browser.new_context(bypass_csp=True)  # lets the test inject axe
    page = context.new_page()
    page.goto(f"{registered.origin}/one.html")
    handle, frame = quiz_frame(page, "w1")
    assert axe_violations(frame) == []
    frame.evaluate("document.getElementById('quiz-form').classList.remove('js-steps')")
    for q in quiz.questions:
        frame.evaluate(f"document.getElementById('{q.id}-{q.options[0].id}').checked = true")
    with frame.expect_navigation():
        frame.evaluate("document.getElementById('quiz-form').submit()")
    result = handle.content_frame()
    result.wait_for_selector(".recommendation")
    violations = axe_violations(result)
    assert violations == [], json.dumps(violations, indent=1)
    context.close()


def test_a_what_if_saved_inside_the_widget_keeps_state_role_and_partner(
    browser, setup, quiz: Quiz
) -> None:  # type: ignore[no-untyped-def]
    """With JavaScript, the live what-if rewrote the save form's fields and dropped who
    answered: the saved version lost "For Ohio", its peers and the partner."""
    app, registered, _ = setup
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{registered.origin}/one.html")
    handle, frame = quiz_frame(page, "w1")
    page.wait_for_function("window.events.some(e => e.type === 'statequiz:ready')")
    frame.evaluate("document.getElementById('ctx-role').value = 'state-agency'")  # a later step
    for q in quiz.questions:
        frame.evaluate(f"document.getElementById('{q.id}-{q.options[0].id}').checked = true")
    with frame.expect_navigation():
        frame.evaluate("document.getElementById('quiz-form').submit()")
    frame = handle.content_frame()
    first = frame.url.split("/results/")[1].split("?")[0]
    frame.get_by_role("link", name="Try other answers").click()
    frame.wait_for_selector("#whatif-form")
    funding = quiz.questions_for("responsive-funding-systems")[0]
    frame.locator(f"label[for='{funding.id}-{funding.options[3].id}']").click()
    frame.wait_for_selector("#save-version:not([hidden])")  # the live comparison came back
    with frame.expect_navigation():
        frame.get_by_role("button", name="Save this version").click()
    frame = handle.content_frame()
    saved = frame.url.split("/results/")[1].split("?")[0]
    assert saved != first and "partner=news" in frame.url
    assert "For Ohio" in frame.locator(".lead").inner_text()
    with app.client() as c:
        stored = c.get(f"/api/v1/responses/{saved}").json()
    assert stored["based_on"] == first
    assert stored["partner"] == "news"
    assert stored["context"] == {"state": "OH", "role": "state-agency"}
    page.close()
