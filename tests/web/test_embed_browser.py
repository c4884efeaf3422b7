"""The widget on a partner's page, in Debian's Chromium: a second local origin embeds the quiz,
a respondent completes it inside the iframe by keyboard, the page hears the events, the iframe
follows its content's height; an unregistered origin cannot frame the quiz."""

from __future__ import annotations

import json
import re
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
["statequiz:ready", "statequiz:step", "statequiz:completed", "statequiz:unavailable",
 "statequiz:result", "statequiz:whatif", "statequiz:error"].forEach(function (type) {
  document.addEventListener(type, function (e) {
    window.events.push({type: e.type, target: e.target.id, detail: e.detail});
  });
});
"""


def partner_page(app_url: str, widgets: int, slug: str = "news", options: str = "") -> str:
    state = ' data-state="OH"'
    boxes = "\n".join(
        f'<div id="w{n}" data-state-quiz data-partner="{slug}"{state if n == 1 else ""}{options}></div>'
        for n in range(1, widgets + 1)
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>State news</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body {{ font-family: Georgia, "Times New Roman", serif; }}</style></head>
<body><main><h1>State news: where should your state begin?</h1>{boxes}</main>
<script>{RECORDER}</script><script src="{app_url}/embed.js" async></script></body></html>"""


class PartnerSite:
    """A partner's static site on its own origin (localhost, another port)."""

    def __init__(self, root: Path):
        self.root = root
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
        themed = (
            ' data-accent="#8a1c1c" data-font="inherit" data-radius="0" data-scheme="dark"'
            f' data-compact data-hide="retake" data-ref="spring-27"'
            f' data-share-url="{registered.origin}/themed.html"'
        )
        (root / "themed.html").write_text(partner_page(app.base_url, 1, options=themed))
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
    # Not a broken box: the frame is replaced by a message in the page, and the page is told.
    page.wait_for_function("window.events.some(e => e.type === 'statequiz:error')", timeout=20000)
    assert [e["detail"] for e in events(page, "statequiz:error", "w1")] == [{"reason": "network"}]
    message = page.locator("#w1 .statequiz-error")
    assert message.is_visible() and "could not be loaded" in message.inner_text()
    assert message.get_by_role("link").get_attribute("target") == "_blank"
    assert not handle.is_visible()
    assert page.get_attribute("#w1", "data-state-quiz-error") == "network"
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
    page.wait_for_function("window.events.some(e => e.type === 'statequiz:error')")
    [error] = events(page, "statequiz:error", "w1")
    assert error["detail"] == {
        "reason": "unknown_partner" if which == "mistyped" else "revoked_partner"
    }
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


OUTSIDE = re.compile(r"^https?://(?!localhost[:/]|127\.0\.0\.1[:/])")


def fill_and_submit(frame, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    frame.evaluate("document.getElementById('quiz-form').classList.remove('js-steps')")
    for q in quiz.questions:
        frame.evaluate(f"document.getElementById('{q.id}-{q.options[1].id}').checked = true")
    with frame.expect_navigation():
        frame.evaluate("document.getElementById('quiz-form').submit()")


@pytest.mark.parametrize("width", [375, 1280])
def test_a_themed_compact_widget_looks_like_the_partners_page(
    browser, setup, quiz: Quiz, width: int
) -> None:  # type: ignore[no-untyped-def]
    """The issue: under the partner's own headline the widget repeated its H1, lead, time
    estimate, definition and grouping note (about 900 px at 375 px), in our colours and font."""
    _, registered, _ = setup
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{registered.origin}/themed.html")
    handle, frame = quiz_frame(page, "w1")
    page.wait_for_function("window.events.some(e => e.type === 'statequiz:ready')")
    top = frame.locator("#quiz-form").evaluate("el => el.getBoundingClientRect().top")
    # The preamble (about 900 px at 375 px) is now the length and its look-up note: at most
    # two lines at 375 px.
    assert top < 150, top
    look = frame.evaluate(
        """() => { const b = getComputedStyle(document.body);
        const n = getComputedStyle(document.querySelector('.step-nav .button, #quiz-submit'));
        return {font: b.fontFamily, paper: b.backgroundColor, ink: b.color,
                accent: n.backgroundColor, radius: n.borderTopLeftRadius}; }"""
    )
    assert look["font"].startswith("Georgia, ")  # the host page's own font, inherited
    assert look["paper"] == "rgb(18, 20, 23)" and look["ink"] == "rgb(236, 236, 236)"
    assert look["accent"] == "rgb(138, 28, 28)" and look["radius"] == "0px"
    page.wait_for_timeout(300)
    assert_fits(handle, frame)
    page.screenshot(path=ARTIFACTS / f"partner-embed-themed-{width}.png")
    context.close()


def test_the_widget_tells_result_from_what_if_keeps_ref_and_shares_the_partners_page(
    browser, setup, quiz: Quiz
) -> None:  # type: ignore[no-untyped-def]
    app, registered, _ = setup
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=registered.origin)
    # Links to other sites must not reach the network: answered here, by a stand-in page.
    context.route(
        OUTSIDE,
        lambda route: route.fulfill(body="<title>Elsewhere</title>", content_type="text/html"),
    )
    page = context.new_page()
    page.goto(f"{registered.origin}/themed.html")
    handle, frame = quiz_frame(page, "w1")
    page.wait_for_function("window.events.some(e => e.type === 'statequiz:ready')")
    fill_and_submit(frame, quiz)
    page.wait_for_function("window.events.some(e => e.type === 'statequiz:result')", timeout=15000)
    [done] = events(page, "statequiz:completed", "w1")
    [shown] = events(page, "statequiz:result", "w1")
    assert shown["detail"]["id"] == done["detail"]["id"] and not events(page, "statequiz:whatif")
    response_id = shown["detail"]["id"]
    with app.client() as c:
        stored = c.get(f"/api/v1/responses/{response_id}").json()
    assert (stored["partner"], stored["attribution"], stored["ref"]) == (
        "news",
        "widget",
        "spring-27",
    )
    frame = handle.content_frame()
    assert frame.get_by_role("link", name="Retake the quiz").count() == 0  # data-hide="retake"
    # The share link is the partner's article, and "Copy link" works inside the frame.
    share = f"{registered.origin}/themed.html?statequiz_result={response_id}"
    assert frame.locator("#share-url").input_value() == share
    frame.get_by_role("button", name="Copy link").click()
    frame.wait_for_function("document.getElementById('copy-status').textContent !== ''")
    assert frame.locator("#copy-status").inner_text() == "Link copied."
    assert page.evaluate("navigator.clipboard.readText()") == share
    # A source opens outside the frame; the result stays where it was.
    source = frame.locator("p.source a").first
    assert source.get_attribute("target") == "_blank" and source.get_attribute("rel") == "noopener"
    with page.expect_popup() as popup:
        source.click()
    assert OUTSIDE.match(popup.value.url) and popup.value.evaluate("window.opener") is None
    assert handle.content_frame().url.split("?")[0].endswith(f"/results/{response_id}")
    popup.value.close()
    # What if…? is its own event.
    with frame.expect_navigation():
        frame.get_by_role("link", name="Try other answers").click()
    page.wait_for_function("window.events.some(e => e.type === 'statequiz:whatif')")
    assert [e["detail"] for e in events(page, "statequiz:whatif")] == [{"id": response_id}]
    assert len(events(page, "statequiz:result")) == 1
    # A reader who follows the shared link sees the result inside the partner's page.
    reader = context.new_page()
    reader.goto(share)
    reader.wait_for_function("window.events.some(e => e.type === 'statequiz:result')")
    assert [e["detail"]["id"] for e in events(reader, "statequiz:result")] == [response_id]
    assert events(reader, "statequiz:completed") == []
    context.close()


def test_axe_finds_nothing_in_the_themed_widget_and_the_partner_page(
    browser, setup, quiz: Quiz
) -> None:  # type: ignore[no-untyped-def]
    """Dark scheme, a partner's accent, compact: still AA contrast and a titled page; and our
    partner page, whose preview is the real widget (framed by our own origin)."""
    app, registered, _ = setup
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{registered.origin}/themed.html")
    handle, frame = quiz_frame(page, "w1")
    page.wait_for_function("window.events.some(e => e.type === 'statequiz:ready')")
    assert axe_violations(frame) == []
    fill_and_submit(frame, quiz)
    result = handle.content_frame()
    result.wait_for_selector(".recommendation")
    violations = axe_violations(result)
    assert violations == [], json.dumps(violations, indent=1)
    with result.expect_navigation():
        result.get_by_role("link", name="Try other answers").click()
    whatif = handle.content_frame()
    whatif.wait_for_selector("#whatif-form")
    violations = axe_violations(whatif)
    assert violations == [], json.dumps(violations, indent=1)
    partner = context.new_page()
    partner.add_init_script(RECORDER)
    partner.goto(f"{app.base_url}/partners/news/embed?accent=%23ffcc00&compact=1&ref=preview")
    partner.wait_for_function("window.events.some(e => e.type === 'statequiz:ready')")
    preview = partner.wait_for_selector("[data-state-quiz] iframe").content_frame()
    assert "Preview on our site" in preview.locator("main").inner_text()
    violations = axe_violations(partner)
    assert violations == [], json.dumps(violations, indent=1)
    context.close()


class SilentQuizHost:
    """A quiz host that serves /embed.js and then never answers: the frame never loads."""

    def __init__(self) -> None:
        script = (Path(__file__).resolve().parents[2] / "app" / "embed" / "embed.js").read_bytes()
        self.release = threading.Event()
        release = self.release

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/embed.js":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/javascript")
                    self.end_headers()
                    self.wfile.write(script)
                else:
                    release.wait(20)  # hangs until the test is done

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_frame_that_never_loads_gives_way_to_a_message(browser, setup) -> None:  # type: ignore[no-untyped-def]
    _, registered, _ = setup
    host = SilentQuizHost()
    try:
        html = partner_page(f"http://127.0.0.1:{host.port}", 1, options=' data-timeout="1500"')
        (registered.root / "silent.html").write_text(html)
        page = browser.new_page()
        page.goto(f"{registered.origin}/silent.html", wait_until="domcontentloaded")
        page.wait_for_function(
            "window.events.some(e => e.type === 'statequiz:error')", timeout=10000
        )
        assert [e["detail"] for e in events(page, "statequiz:error")] == [{"reason": "timeout"}]
        assert page.locator("#w1 .statequiz-error").is_visible()
        assert page.get_attribute("#w1", "data-state-quiz-error") == "timeout"
        page.close()
    finally:
        host.close()
