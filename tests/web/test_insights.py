"""/insights: the token once in a login form, a secure session cookie, charts and tables."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from scoring import Scorer
from tests.api.test_export import FIXTURE, TOKEN, K, store
from tests.support import app_settings, migrated, register_partner


@pytest.fixture
def insights_db(tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch) -> str:
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    store(url, scorer, FIXTURE, monkeypatch)  # released in batches of K
    return url


@pytest.fixture
def insights_app(insights_db: str) -> Iterator[Callable[..., TestClient]]:
    """Clients of insights apps on one database, each with its own settings."""
    opened: list[TestClient] = []

    def open_app(**overrides: object) -> TestClient:
        app = create_app(
            app_settings(insights_db, **{"export_token": TOKEN, "min_group_size": K, **overrides})
        )
        # https, as in production: the session cookie is Secure.
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        opened.append(client.__enter__())
        return client

    yield open_app
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def insights(insights_app: Callable[..., TestClient]) -> TestClient:
    return insights_app()


def login(client: TestClient, token: str = TOKEN) -> object:
    page = client.get("/insights").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return client.post("/insights/login", data={"token": token, "csrf": csrf})


def test_login_sets_a_secure_http_only_cookie(insights: TestClient) -> None:
    first = insights.get("/insights")
    assert first.status_code == 200 and 'type="password"' in first.text
    assert "Most often ranked first" not in first.text
    assert insights.get("/insights/export.csv").status_code == 401
    assert login(insights, "wrong").status_code == 401  # type: ignore[attr-defined]
    forged = insights.post("/insights/login", data={"token": TOKEN, "csrf": "forged"})
    assert forged.status_code == 400 and "insights_session" not in forged.headers.get(
        "set-cookie", ""
    )
    ok = login(insights)
    assert ok.status_code == 303  # type: ignore[attr-defined]
    cookie = ok.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "insights_session=" in cookie
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/insights"):
        assert flag.lower() in cookie.lower()
    assert TOKEN not in cookie


def test_charts_tables_filters_and_csv(insights: TestClient) -> None:
    login(insights)
    page = insights.get("/insights")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    assert "<strong>10 responses</strong>" in html  # released; two more wait for their batch
    assert "counted in released batches" in html and "release dates" in html
    # Ranked first, 11 conditions, 3 heatmaps (states, roles, months) and the month volumes;
    # a table beside each but the volumes (the months' table gives their sizes).
    assert html.count("<svg class=") == 16 and html.count("<table") == 15
    assert "Responsive Funding Systems: responses by stage" in html
    assert "5 (50%)" in html  # funding at Not yet started: 5 of 10, written, not only drawn
    assert len(page.content) < 100_000
    assert "<strong>4 responses</strong>" in insights.get("/insights?state=KY").text
    # Kentucky's response without a role is pending: nothing matches a filter on its own.
    none = insights.get("/insights?state=KY&role=educator").text
    assert "No responses match these filters yet" in none and "<svg" not in none
    assert '<option value="KY" selected>' in none
    download = insights.get("/insights/export.csv?state=OH")
    assert re.fullmatch(
        r'attachment; filename="insights-[0-9T-]+Z_quiz-version-[0-9A-Za-z.-]+_state-OH\.csv"',
        download.headers["content-disposition"],
    ), download.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(download.text)))
    funding = {
        r["stage"]: r["count"]
        for r in table
        if r["condition"] == "responsive-funding-systems" and r["measure"] == "stage"
    }
    assert funding == {"0": "3", "1": "1", "2": "0", "3": "1", "unknown": "1"}
    assert insights.get("/insights?since=2026-13-01").status_code == 422


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("since=2026-13-01", "f-since", "Enter a date between"),
        ("since=9999-12-31", "f-since", "Enter a date between"),
        ("until=0001-01-01", "f-until", "Enter a date between"),
        ("until=0", "f-until", "Enter a date between"),
        ("since=2026-11-05&until=2026-11-01", "f-until", "The end date is before the start date."),
    ],
)
def test_a_wrong_filter_is_named_next_to_its_field(
    insights: TestClient, query: str, field: str, message: str
) -> None:
    login(insights)
    page = insights.get(f"/insights?state=OH&{query}")
    assert page.status_code == 422
    assert f'<a href="#{field}">' in page.text and message in page.text
    assert 'aria-invalid="true"' in page.text and "<svg" not in page.text
    assert '<option value="OH" selected>' in page.text  # the rest of the form is kept
    csv_answer = insights.get(f"/insights/export.csv?{query}")
    assert csv_answer.status_code == 422 and message in csv_answer.text


def test_comparisons_and_the_partner_choice(insights: TestClient, insights_db: str) -> None:
    """States, roles and release months side by side, each with a table; a comparison's CSV
    holds every stage's figures by that group; the partner is chosen from a list of partners
    (registered ones by name, and partners claimed before they were checked), not typed."""
    register_partner(
        insights_db, "Ohio <Capital> Journal", "ohio-journal", "https://journal.example"
    )
    login(insights)
    html = insights.get("/insights").text
    for title in ("States side by side", "Roles side by side", "By month of release"):
        assert f">{title}</h2>" in html
    assert '<th scope="col">Ohio (6 responses)</th>' in html
    assert '<th scope="col">Nov 2026 (8 responses)</th>' in html
    assert '<option value="ohio-journal">Ohio &lt;Capital&gt; Journal</option>' in html
    assert '<option value="news">news (not registered)</option>' in html
    assert 'name="partner" value=' not in html  # no free text
    by_state = insights.get("/insights/export.csv?group_by=state")
    assert "_by-state.csv" in by_state.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(by_state.text)))
    assert {r["state"] for r in rows} == {"OH", "KY"}
    unknown = insights.get("/insights?partner=The%20News")
    assert unknown.status_code == 422 and "Choose a partner from the list." in unknown.text
    assert '<a href="#f-partner">Partner: ' in unknown.text and "<svg" not in unknown.text
    assert insights.get("/insights/export.csv?partner=The%20News").status_code == 422
    chosen = insights.get("/insights?partner=news").text
    assert '<option value="news" selected>' in chosen and "<strong>2 responses</strong>" in chosen


def test_empty_filter_fields_mean_not_set(insights: TestClient) -> None:
    login(insights)
    page = insights.get("/insights?state=&role=&partner=&since=&until=")
    assert page.status_code == 200 and "<strong>10 responses</strong>" in page.text
    csv_answer = insights.get("/insights/export.csv?state=&role=&partner=&since=&until=")
    assert csv_answer.status_code == 200


def test_a_page_error_names_the_field_and_links_back(insights: TestClient) -> None:
    """A request FastAPI itself refuses still gets a page that says what was wrong."""
    login(insights)
    page = insights.get("/insights?partner=" + "x" * 65)
    assert page.status_code == 422
    assert "<strong>partner</strong>: String should have at most 64 characters" in page.text
    assert '<a class="button" href="/insights">Go back to the form</a>' in page.text


def test_logout_needs_its_token(insights: TestClient) -> None:
    login(insights)
    html = insights.get("/insights").text
    token = re.search(r'action="/insights/logout".*?name="csrf" value="([^"]+)"', html, re.S).group(
        1
    )  # type: ignore[union-attr]
    assert insights.post("/insights/logout", data={"csrf": "nope"}).status_code == 401
    out = insights.post("/insights/logout", data={"csrf": token})
    assert out.status_code == 303 and 'insights_session=""' in out.headers["set-cookie"]
    insights.cookies.clear()
    assert 'type="password"' in insights.get("/insights").text


def logout_token(client: TestClient) -> str:
    html = client.get("/insights").text
    found = re.search(r'action="/insights/logout".*?name="csrf" value="([^"]+)"', html, re.S)
    assert found, "not signed in"
    return found.group(1)


def test_a_copied_cookie_stops_working_after_logout(insights: TestClient) -> None:
    """Finding 8: logout only deleted the cookie in the browser that pressed it; a copy of the
    cookie went on opening the charts for eight hours. The session now ends on the server."""
    assert login(insights).status_code == 303  # type: ignore[attr-defined]
    copied = insights.cookies["insights_session"]
    csrf = logout_token(insights)
    assert insights.post("/insights/logout", data={"csrf": csrf}).status_code == 303
    insights.cookies.clear()
    with_copy = {"Cookie": f"insights_session={copied}"}
    page = insights.get("/insights", headers=with_copy)
    assert page.status_code == 200 and 'type="password"' in page.text
    assert "Most often ranked first" not in page.text
    assert insights.get("/insights/export.csv", headers=with_copy).status_code == 401
    again = insights.post("/insights/logout", data={"csrf": csrf}, headers=with_copy)
    assert again.status_code == 401


def test_logout_ends_only_its_own_session(insights_app: Callable[..., TestClient]) -> None:
    first, second = insights_app(), insights_app()
    login(first)
    login(second)
    first.post("/insights/logout", data={"csrf": logout_token(first)})
    assert "Most often ranked first" in second.get("/insights").text


def test_rotating_the_export_token_ends_every_session(
    insights_app: Callable[..., TestClient],
) -> None:
    before = insights_app()
    login(before)
    copied = before.cookies["insights_session"]
    after = insights_app(export_token="a-new-analyst-token")
    page = after.get("/insights", headers={"Cookie": f"insights_session={copied}"})
    assert 'type="password"' in page.text and "Most often ranked first" not in page.text


def test_wrong_tokens_are_throttled_per_address(insights: TestClient) -> None:
    """Finding 8: 300 wrong sign-ins in 0.46 s, never a 429. Ten wrong tokens from one address
    in the window; the eleventh attempt gets 429 with Retry-After and a readable page. The right
    token gets 429 too until the window passes: were it let through, a 401 against a 429 would
    tell the guesser which guess was right, and the limit would limit nothing."""
    for _ in range(10):
        assert login(insights, "wrong").status_code == 401  # type: ignore[attr-defined]
    limited = login(insights, "wrong")
    assert limited.status_code == 429  # type: ignore[attr-defined]
    assert 1 <= int(limited.headers["retry-after"]) <= 15 * 60  # type: ignore[attr-defined]
    assert "Too many wrong tokens" in limited.text  # type: ignore[attr-defined]
    right = login(insights)
    assert right.status_code == 429  # type: ignore[attr-defined]
    assert "insights_session" not in right.headers.get("set-cookie", "")  # type: ignore[attr-defined]


def test_the_right_token_works_again_once_the_window_passes(
    insights_app: Callable[..., TestClient],
) -> None:
    client = insights_app(token_failure_window_seconds=2)
    for _ in range(10):
        login(client, "wrong")
    limited = login(client)
    assert limited.status_code == 429  # type: ignore[attr-defined]
    time.sleep(int(limited.headers["retry-after"]) + 0.1)  # type: ignore[attr-defined]
    assert login(client).status_code == 303  # type: ignore[attr-defined]
    # A right token does not count: the next ten wrong ones are all answered as wrong.
    client.cookies.clear()
    assert [login(client, "wrong").status_code for _ in range(10)] == [401] * 10  # type: ignore[attr-defined]


def test_a_group_below_a_raised_threshold_is_not_shown(
    tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Released in batches of 2, read after MIN_GROUP_SIZE was raised to 5: Kentucky's 4
    responses are a group below it, said so without its size, also in the CSV."""
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    store(url, scorer, FIXTURE, monkeypatch)
    app = create_app(app_settings(url, export_token=TOKEN, min_group_size=5))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        login(client)
        small = client.get("/insights?state=KY").text
        assert "Too few responses match these filters to show (fewer than 5)" in small
        assert "<svg" not in small and "4 responses" not in small
        assert '<option value="KY" selected>' in small
        table = list(csv.DictReader(io.StringIO(client.get("/insights/export.csv?state=KY").text)))
        assert table and all(r["count"] == "" and r["group_responses"] == "" for r in table)
        assert "<strong>6 responses</strong>" in client.get("/insights?state=OH").text


def test_off_without_a_token(tmp_path: Path) -> None:
    app = create_app(app_settings(migrated(f"sqlite:///{tmp_path / 'q.db'}")))
    with TestClient(app, base_url="https://testserver") as client:
        r = client.get("/insights")
    assert r.status_code == 503 and "no EXPORT_TOKEN" in r.text
