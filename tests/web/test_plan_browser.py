"""Plans in Chromium (issue 22, parts 4-6): from a finished result, make a plan and edit it by
keyboard, check a milestone, download the PDF brief and the Word memo (read back; the PDF's
pages drawn as PNGs to look at), check in again without JavaScript and see the change on the
plan; axe and the page's width at 375 and 1280 px, with screenshots in test-artifacts/."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator

import docx
import httpx
import pypdf
import pytest
from playwright.sync_api import expect

from quiz import Quiz
from tests.scoring.support import every_question_at, option_for
from tests.support import LiveServer, live_server, missing
from tests.web.conftest import ARTIFACTS, axe_violations

pytestmark = pytest.mark.browser
ANSWERS = every_question_at(1) | {"funding": 0}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    with live_server(f"sqlite:///{tmp_path_factory.mktemp('plans') / 'quiz.db'}") as srv:
        yield srv


@pytest.fixture(scope="module")
def plan_url(browser, site: LiveServer, quiz: Quiz) -> str:  # type: ignore[no-untyped-def]
    """The walk itself; the plan's address, after a check-in, for the layout test."""
    answers = [{"question_id": q, "option_id": option_for(q, s)} for q, s in ANSWERS.items()]
    made = httpx.post(
        f"{site.base_url}/api/v1/responses",
        json={"quiz_version": quiz.version, "answers": answers, "context": {"state": "OH"}},
    ).json()
    context = browser.new_context(base_url=site.base_url, bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    page.goto(f"/results/{made['id']}")
    page.get_by_role("link", name="Make a plan").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Make a plan", level=1)).to_be_visible()
    assert axe_violations(page) == []
    begin = made["result"]["begin_here"][:3]
    for slug in begin:
        expect(page.locator(f"#pick-{slug}")).to_be_checked()
    page.get_by_role("button", name="Make the plan").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/plans/[A-Za-z0-9_-]{32}\?made=1$"))
    url = page.url.split("?")[0]
    expect(page.get_by_role("status")).to_contain_text("Your plan is made")
    assert axe_violations(page) == []

    # Edit by keyboard: check the first milestone, give it an owner (a role) and a date.
    first = page.locator(".milestone input[type=checkbox]").first
    first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.type("Deputy superintendent <b>")
    page.keyboard.press("Tab")
    page.keyboard.type("06302027")  # Chromium's date field takes the digits in order
    page.get_by_role("button", name="Save changes").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?saved=1$"))
    expect(page.get_by_role("status")).to_contain_text("Your changes are saved")
    expect(page.locator("#progress-text")).to_contain_text("1 of ")
    expect(page.locator(".milestone input[type=checkbox]").first).to_be_checked()
    expect(page.locator(".milestone input[type=text]").first).to_have_value(
        "Deputy superintendent <b>"
    )
    expect(page.locator(".milestone input[type=date]").first).to_have_value("2027-06-30")

    # The documents, downloaded as a user would, and read back.
    with page.expect_download() as got:
        page.get_by_role("link", name="Download the PDF brief").click()
    pdf_path = ARTIFACTS / "plan-brief.pdf"
    got.value.save_as(pdf_path)
    reader = pypdf.PdfReader(pdf_path)
    assert 1 <= len(reader.pages) <= 2
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert "A plan for Ohio" in text and f"quiz version {quiz.version}" in text
    assert "Deputy superintendent <b>" in text and "Sources" in text
    _pages_as_png(pdf_path)
    with page.expect_download() as got:
        page.get_by_role("link", name="Download the Word memo").click()
    memo_path = ARTIFACTS / "plan-memo.docx"
    got.value.save_as(memo_path)
    memo = docx.Document(io.BytesIO(memo_path.read_bytes()))
    paragraphs = [p.text for p in memo.paragraphs]
    assert paragraphs[0] == "A plan for Ohio"
    assert any("scoring method" in p for p in paragraphs)
    cells = [c.text for t in memo.tables for row in t.rows for c in row.cells]
    assert "Deputy superintendent <b>" in cells
    check_in = page.get_by_role("link", name="Check in again").get_attribute("href")
    context.close()

    # Check in again, without JavaScript: the quiz from the latest answers; funding moves up.
    plain = browser.new_context(base_url=site.base_url, java_script_enabled=False)
    page = plain.new_page()
    page.goto(str(check_in))
    expect(page.locator(".notice").first).to_contain_text("checking in on your plan")
    page.locator(f"label[for='funding-{option_for('funding', 2)}']").click()
    page.get_by_role(
        "button", name=re.compile("See (my|your) result|Submit|See where", re.I)
    ).click()
    page.wait_for_url(re.compile(r"/plans/[A-Za-z0-9_-]{32}#history$"))
    changes = page.locator("ul.changes")
    expect(changes).to_contain_text("Responsive Funding Systems")
    expect(changes).to_contain_text("its stage from Not yet started to Replication")
    expect(page.locator(".history-table tbody tr")).to_have_count(2)
    plain.close()
    return url


def _pages_as_png(pdf_path) -> None:  # type: ignore[no-untyped-def]
    """The brief's pages as PNGs beside it, to look at (poppler's pdftoppm)."""
    if shutil.which("pdftoppm") is None:
        missing("pdftoppm (poppler-utils)")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "70", str(pdf_path), str(ARTIFACTS / "plan-brief")],
        check=True,
        timeout=60,
    )
    assert (ARTIFACTS / "plan-brief-1.png").exists()


@pytest.mark.parametrize("width", [375, 1280])
def test_plan_page_is_accessible_and_fits(browser, plan_url: str, width: int) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(bypass_csp=True, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(plan_url)
    expect(page.locator("figure.stage-chart svg").first).to_be_visible()
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=ARTIFACTS / f"plan-{width}.png", full_page=True)
    context.close()
