"""Aggregate export, peer benchmarks and the rollup behind them, on SQLite and PostgreSQL.

Figures count released batches (app/analytics/aggregates.py): the functional tests store and read with a
release size of 2 and a fixture whose cells complete batches; tests/api/test_disclosure.py has
the attacks, at the default of 5.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, select
from sqlmodel import Session

import app.responses.submissions
from app.analytics.aggregates import Filters, aggregate, rebuild
from app.models import (
    ConditionRollup,
    ConditionRollupMonth,
    IdempotencyRecord,
    PendingRollup,
    ResponseRecord,
)
from app.responses.results import Results, register_content
from app.responses.submissions import submit
from app.responses.writer import DirectWriter
from quiz import Quiz, load_content
from scoring import Scorer, Submission
from tests.scoring.support import option_for
from tests.support import InProcessServer, LiveServer, app_settings, live_server, migrated

TOKEN = "analyst-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
K = 2  # the release size (MIN_GROUP_SIZE) these tests store and read with

# Twelve responses, by hand: (day, state, role, partner, funding stage). With batches of 2, a
# cell's second response releases both on its own day; the last two wait for a second one.
FIXTURE = [
    ("2026-10-05", "OH", "state-agency", None, 0),
    ("2026-10-20", "OH", "state-agency", None, 0),  # released 2026-10-20 with the one above
    ("2026-11-02", "OH", "legislator", None, 1),
    ("2026-11-03", "OH", "legislator", None, None),  # released 2026-11-03
    ("2026-11-04", "OH", "legislator", "news", 3),
    ("2026-11-05", "OH", "legislator", "news", 0),  # released 2026-11-05
    ("2026-11-05", "KY", "legislator", None, 0),
    ("2026-11-06", "KY", "legislator", None, 2),  # released 2026-11-06
    ("2026-11-07", "KY", "state-board", None, 2),
    ("2026-11-08", "KY", "state-board", None, 0),  # released 2026-11-08
    ("2026-11-08", "KY", None, None, 1),  # pending: alone in its cell
    ("2026-11-09", "OH", "state-agency", None, 3),  # pending: the start of a second batch
]
RELEASED = 10  # responses the fixture's figures count: 6 from Ohio, 4 from Kentucky


def store(
    url: str,
    scorer: Scorer,
    rows: list[tuple],  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
    release_at: int = K,
) -> None:
    """Submit each row through the app's write path, at noon of its day (a second apart, so
    creation order is the order of the list), in batches of `release_at`. A row may end with a
    partner's tag (ref) after the funding stage."""
    engine = create_engine(url)
    results = Results(scorer)
    with engine.begin() as connection:
        register_content(connection, results)
    writer = DirectWriter(engine, release_at=release_at)

    async def store_all() -> None:
        for i, (day, state, role, partner, funding, *tag) in enumerate(rows):
            moment = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
            moment += timedelta(seconds=i)
            monkeypatch.setattr(app.responses.submissions, "utcnow", lambda m=moment: m)
            submission = Submission.model_validate(
                {
                    "quiz_version": scorer.quiz.version,
                    "answers": [
                        {"question_id": "funding", "option_id": option_for("funding", funding)}
                    ],
                    "context": {"state": state, "role": role},
                    "partner": partner,
                }
            )
            await submit(
                engine=engine,
                results=results,
                writer=writer,
                submission=submission,
                ref=tag[0] if tag else None,
            )

    # In a thread of its own: a browser test's thread already runs Playwright's event loop.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, store_all()).result()
    engine.dispose()


@pytest.fixture
def stored(database_url: str, scorer: Scorer, monkeypatch: pytest.MonkeyPatch) -> str:
    url = migrated(database_url)
    store(url, scorer, FIXTURE, monkeypatch)
    return url


def serve(url: str, **overrides: object) -> Iterator[LiveServer | InProcessServer]:
    if url.startswith("sqlite"):
        yield InProcessServer(app_settings(url, export_token=TOKEN, **overrides))
        return
    with live_server(url, export_token=TOKEN, **overrides) as server:
        yield server


@pytest.fixture
def exported(stored: str) -> Iterator[LiveServer | InProcessServer]:
    """The fixture, read with the size it was released in."""
    yield from serve(stored, min_group_size=K)


@pytest.fixture
def raised(stored: str) -> Iterator[LiveServer | InProcessServer]:
    """The fixture read after MIN_GROUP_SIZE was raised to 5 without `aggregates rebuild`: the
    one way a group below the threshold still exists, and is suppressed."""
    yield from serve(stored, min_group_size=5)


def funding_rows(body: dict, **group: str) -> dict[str, dict]:  # type: ignore[type-arg]
    return {
        r["stage"]: r
        for r in body["rows"]
        if r["condition"] == "responsive-funding-systems"
        and all(r[k] == v for k, v in group.items())
    }


def test_token_is_required_and_compared(exported) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            r = c.get("/api/v1/export/aggregate", headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"


def test_wrong_tokens_are_throttled_per_address(exported) -> None:  # type: ignore[no-untyped-def]
    """Finding 8: 300 wrong export tokens in 0.44 s, never a 429. Ten wrong tokens from one
    address in the window; then 429 in the error shape with Retry-After, even for the right
    token (a 200 among 429s would tell a guesser the right guess), until the window passes."""
    with exported.client() as c:
        wrong = {"Authorization": "Bearer wrong"}
        for _ in range(10):
            assert c.get("/api/v1/export/aggregate", headers=wrong).status_code == 401
        for headers in (wrong, AUTH):
            r = c.get("/api/v1/export/aggregate", headers=headers)
            assert r.status_code == 429, r.text
            error = r.json()["error"]
            assert (
                error["code"] == "too_many_requests" and "Too many wrong tokens" in error["message"]
            )
            assert 1 <= int(r.headers["retry-after"]) <= 15 * 60
        # No token at all is not a guess: still the plain 401 that says what to send.
        assert c.get("/api/v1/export/aggregate").status_code == 401


def test_export_is_off_without_a_token(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = InProcessServer(app_settings(migrated(f"sqlite:///{tmp_path / 'q.db'}")))
    with server.client() as c:
        r = c.get("/api/v1/export/aggregate", headers=AUTH)
    assert r.status_code == 503 and r.json()["error"]["code"] == "export_disabled"


def test_counts_match_the_hand_computed_fixture(exported, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        body = c.get("/api/v1/export/aggregate", headers=AUTH).json()
    assert len(body["rows"]) == 11 * 5
    funding = funding_rows(body)
    # The ten released responses; the two pending ones (funding 1 and 3) are not counted.
    assert {s: r["count"] for s, r in funding.items()} == {
        "0": 5,
        "1": 1,
        "2": 2,
        "3": 1,
        "unknown": 1,
    }
    assert funding["0"]["share"] == round(5 / 10, 4) and funding["0"]["group_responses"] == 10
    assert all(r["suppressed"] is False for r in body["rows"])
    measuring = {
        r["stage"]: r["count"] for r in body["rows"] if r["condition"] == "measuring-success"
    }
    assert measuring == {"0": 0, "1": 0, "2": 0, "3": 0, "unknown": RELEASED}
    meta = body["meta"]
    assert meta["quiz_versions"] == [quiz.version] and meta["responses_shown"] == RELEASED
    assert meta["min_group_size"] == K and "fewer than 2" in meta["suppression"]
    assert "released batches" in meta["suppression"] and "release dates" in meta["suppression"]
    firsts = sum(r["ranked_first"] for r in body["rows"] if r["stage"] == "0")
    assert firsts == RELEASED  # every response ranks exactly one condition first


def test_groups_below_a_raised_threshold_are_suppressed(raised) -> None:  # type: ignore[no-untyped-def]
    with raised.client() as c:
        body = c.get("/api/v1/export/aggregate?group_by=state", headers=AUTH).json()
    oh, ky = funding_rows(body, state="OH"), funding_rows(body, state="KY")
    assert {s: r["count"] for s, r in oh.items()} == {"0": 3, "1": 1, "2": 0, "3": 1, "unknown": 1}
    assert all(r["suppressed"] and r["count"] is None and r["share"] is None for r in ky.values())
    assert all(r["group_responses"] is None and r["ranked_first"] is None for r in ky.values())
    # Totals cover shown groups only: 10 responses released, only Ohio's 6 can be read here.
    assert body["meta"]["responses_shown"] == 6
    assert body["meta"]["groups_shown"] == 1 and body["meta"]["groups_suppressed"] == 1
    assert not any(r["count"] == 4 for r in body["rows"] if r.get("state") == "KY")


def test_by_state_with_the_release_size(exported) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        body = c.get("/api/v1/export/aggregate?group_by=state", headers=AUTH).json()
    oh, ky = funding_rows(body, state="OH"), funding_rows(body, state="KY")
    assert {s: r["count"] for s, r in oh.items()} == {"0": 3, "1": 1, "2": 0, "3": 1, "unknown": 1}
    assert {s: r["count"] for s, r in ky.items()} == {"0": 2, "1": 0, "2": 2, "3": 0, "unknown": 0}
    assert oh["0"]["group_responses"] == 6 and ky["0"]["group_responses"] == 4
    assert body["meta"]["groups_suppressed"] == 0 and body["meta"]["responses_shown"] == RELEASED


def test_filters_and_grouping(exported) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:

        def get(query: str) -> dict:  # type: ignore[type-arg]
            r = c.get(f"/api/v1/export/aggregate?{query}", headers=AUTH)
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        assert funding_rows(get("state=OH"))["0"]["group_responses"] == 6
        # Dates are release dates: batches completed on 3, 5, 6 and 8 November.
        assert funding_rows(get("since=2026-11-01"))["0"]["group_responses"] == 8
        assert funding_rows(get("since=2026-11-01&until=2026-11-05"))["0"]["group_responses"] == 4
        # A response was stored on 4 November, but its batch was released on the 5th.
        assert get("since=2026-11-04&until=2026-11-04")["rows"] == []
        news = funding_rows(get("partner=news"))
        assert news["0"]["group_responses"] == 2 and news["0"]["suppressed"] is False
        assert {s: r["count"] for s, r in news.items()} == {
            "0": 1, "1": 0, "2": 0, "3": 1, "unknown": 0,
        }  # fmt: skip
        by_month = get("group_by=month")
        assert funding_rows(by_month, month="2026-10")["0"]["group_responses"] == 2
        assert funding_rows(by_month, month="2026-11")["0"]["group_responses"] == 8
        two = get("group_by=role,state")
        assert two["meta"]["columns"][:3] == ["role", "state", "condition"]
        assert list(two["rows"][0])[:2] == ["role", "state"]
        # The one response without a role is still pending: no group of role "" exists.
        assert {r["role"] for r in two["rows"]} == {"legislator", "state-agency", "state-board"}
        assert get("quiz_version=1999.1")["rows"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=colour", "group_by"),
        ("group_by=state,state", "group_by"),
        ("since=2026-13-01", "since"),
        ("until=yesterday", "until"),
        ("format=xml", "format"),
    ],
)
def test_bad_parameters_are_422(exported, query: str, field: str) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        r = c.get(f"/api/v1/export/aggregate?{query}", headers=AUTH)
    assert r.status_code == 422
    assert f"query.{field}" in [d["field"] for d in r.json()["error"]["details"]]


def test_an_until_before_since_is_an_empty_range(exported) -> None:  # type: ignore[no-untyped-def]
    """The schema states each date's form but cannot state a rule across the two (schemathesis
    found the 422 a mismatch): the API reads the range as holding no day."""
    with exported.client() as c:
        r = c.get("/api/v1/export/aggregate?since=2026-11-05&until=2026-11-01", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [] and r.json()["meta"]["responses_shown"] == 0


def test_csv(exported, raised) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        r = c.get("/api/v1/export/aggregate?format=csv&group_by=state", headers=AUTH)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="aggregate-' in r.headers["content-disposition"]
    assert "\r\n" in r.text
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert list(table[0]) == [
        "state", "condition", "stage", "count", "share", "suppressed",
        "group_responses", "ranked_first", "top_three",
    ]  # fmt: skip

    def funding(rows: list[dict[str, str]], state: str) -> dict[str, str]:
        return {
            row["stage"]: row["count"]
            for row in rows
            if row["state"] == state and row["condition"] == "responsive-funding-systems"
        }

    assert funding(table, "OH") == {"0": "3", "1": "1", "2": "0", "3": "1", "unknown": "1"}
    assert funding(table, "KY") == {"0": "2", "1": "0", "2": "2", "3": "0", "unknown": "0"}
    with raised.client() as c:
        text = c.get("/api/v1/export/aggregate?format=csv&group_by=state", headers=AUTH).text
    table = list(csv.DictReader(io.StringIO(text)))
    ky = [row for row in table if row["state"] == "KY"]
    assert ky and all(
        row["count"] == "" and row["share"] == "" and row["suppressed"] == "true" for row in ky
    )
    assert all(row["group_responses"] == "" for row in ky)
    assert funding(table, "OH") == {"0": "3", "1": "1", "2": "0", "3": "1", "unknown": "1"}


def test_peer_benchmarks_hide_small_groups(exported, raised) -> None:  # type: ignore[no-untyped-def]
    with raised.client() as c:
        r = c.get("/api/v1/benchmarks?state=KY")
        assert r.headers["cache-control"] == "public, max-age=60"
        body = r.json()
        funding = body["overall"]["responsive-funding-systems"]
        assert funding == {
            "responses": 10,
            "suppressed": False,
            "shares": {"0": 0.5, "1": 0.1, "2": 0.2, "3": 0.1, "unknown": 0.1},
        }
        # Suppressed, and its size is not shown.
        assert body["for_state"]["responsive-funding-systems"] == {
            "responses": None,
            "suppressed": True,
            "shares": {},
        }
        oh = c.get("/api/v1/benchmarks?state=OH").json()["for_state"]["responsive-funding-systems"]
        assert oh["responses"] == 6 and not oh["suppressed"]
    with exported.client() as c:
        ky = c.get("/api/v1/benchmarks?state=KY").json()["for_state"]
        assert ky["responsive-funding-systems"]["responses"] == 4
        # A state with nothing released reads like any small group, every condition listed.
        wy = c.get("/api/v1/benchmarks?state=WY").json()["for_state"]
        assert len(wy) == 11
        assert all(v == {"responses": None, "suppressed": True, "shares": {}} for v in wy.values())


def test_result_page_shows_peers_and_a_note_for_small_groups(exported, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    form = {"quiz_version": quiz.version, **{q.id: q.options[0].id for q in quiz.questions}}
    with exported.client() as c:
        # Completes the batch of Kentucky's response without a role: both are counted now.
        r = c.post("/quiz", data={**form, "state": "KY"})
        page = c.get(r.headers["location"]).text
        assert "Of 12 responses from all respondents, 50% are at Not yet started." in page
        assert "respondents for Kentucky (on" not in page
        assert "Of 6 responses from respondents for Kentucky" in page
        assert "so yours may not be counted yet" in page
        # Wyoming's first response waits for its batch: not counted, and no figure for Wyoming.
        r = c.post("/quiz", data={**form, "state": "WY"})
        page = c.get(r.headers["location"]).text
    assert "Of 12 responses from all respondents" in page
    # One line says where figures are left out, not one per condition.
    assert page.count("Too few responses") == 1
    assert "respondents for Wyoming (on all 11 conditions)" in page
    assert "Of 1 responses" not in page


# --- the rollup equals a recomputation ---------------------------------------------------------

answers = st.lists(
    st.tuples(
        st.sampled_from(["2026-10-01", "2026-10-31", "2026-11-15"]),
        st.sampled_from(["OH", "KY", None]),
        st.sampled_from(["legislator", None]),
        st.sampled_from(["news", None]),
        st.sampled_from([0, 1, 2, 3, None]),
    ),
    min_size=1,
    max_size=12,
)


ROLLUPS = (ConditionRollup, ConditionRollupMonth)
STAGE_COLUMNS = ("stage_0", "stage_1", "stage_2", "stage_3", "unknown")


def snapshot(url: str) -> list[list[tuple]]:  # type: ignore[type-arg]
    """The daily and monthly rollups and the pending counts, row by row."""
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = [
            sorted(tuple(r._mapping.items()) for r in conn.execute(select(m.__table__)))  # type: ignore[attr-defined]
            for m in (*ROLLUPS, PendingRollup)
        ]
    engine.dispose()
    return tables


def responses_counted(table: list[tuple]) -> int:  # type: ignore[type-arg]
    return sum(dict(r)[c] for r in table for c in STAGE_COLUMNS) // 11


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=answers, release_at=st.sampled_from([1, 2, 3]))
def test_rollup_equals_recomputation(
    database_url: str, scorer: Scorer, monkeypatch: pytest.MonkeyPatch, data, release_at: int
) -> None:  # type: ignore[no-untyped-def]
    """What the write path kept, response by response, is what `rebuild` replays from the
    stored responses in creation order: released batches and what is still pending."""
    url = migrated(database_url)
    engine = create_engine(url)
    with engine.begin() as conn:
        for model in (IdempotencyRecord, *ROLLUPS, PendingRollup, ResponseRecord):
            conn.execute(delete(model))
    # Stored in time order, as responses arrive (`rebuild` replays them by creation time).
    data = sorted(data, key=lambda row: row[0])
    store(url, scorer, data, monkeypatch, release_at=release_at)
    kept = snapshot(url)
    with engine.begin() as conn:
        assert rebuild(conn, release_at=release_at) == len(data)
    engine.dispose()
    assert snapshot(url) == kept
    daily, monthly, pending = kept
    assert responses_counted(daily) == responses_counted(monthly)
    assert responses_counted(daily) % release_at == 0  # whole batches only
    assert responses_counted(daily) + responses_counted(pending) == len(data)
    for row in pending:  # a cell holds fewer than a batch
        assert 0 < sum(dict(row)[c] for c in STAGE_COLUMNS) < release_at


days = st.dates(min_value=datetime(2026, 9, 25).date(), max_value=datetime(2026, 12, 5).date())


@settings(max_examples=60, deadline=None)
@given(since=st.none() | days, until=st.none() | days)
def test_months_and_days_add_up_like_the_daily_counts(since, until, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """Whole months come from the monthly table and the ends from the daily one: the sums must
    equal reading the daily table alone."""
    url = _spans_db(tmp_path_factory)
    engine = create_engine(url)
    with Session(engine) as session:
        got = aggregate(session, Filters(since=since, until=until), ["state"], 1)
        daily = {}
        for row in session.execute(select(ConditionRollup.__table__)):  # type: ignore[attr-defined]
            r = row._mapping
            if (since and r["day"] < since.isoformat()) or (until and r["day"] > until.isoformat()):
                continue
            key = (r["state"], r["condition"])
            daily[key] = daily.get(key, 0) + r["stage_0"] + r["stage_1"] + r["unknown"]
    engine.dispose()
    flat = {
        (g.values["state"], c): n["stage_0"] + n["stage_1"] + n["unknown"]
        for g in got.groups
        for c, n in g.conditions.items()
    }
    assert flat == {k: v for k, v in daily.items() if v or k in flat}


_SPANS: dict[str, str] = {}


def _spans_db(tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    """One SQLite database with a response on many days around three month ends."""
    if "url" not in _SPANS:
        url = migrated(f"sqlite:///{tmp_path_factory.mktemp('spans') / 'q.db'}")
        scorer = Scorer(*load_content())
        start = datetime(2026, 9, 25).date()
        rows = [
            ((start + timedelta(days=i)).isoformat(), "OH" if i % 2 else "KY", None, None, i % 2)
            for i in range(0, 72, 3)
        ]
        patch = pytest.MonkeyPatch()
        store(url, scorer, rows, patch, release_at=1)  # each response released on its day
        patch.undo()
        _SPANS["url"] = url
    return _SPANS["url"]


@pytest.mark.live
def test_cli_export_and_rebuild(tmp_path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys
    from pathlib import Path

    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    store(url, scorer, FIXTURE, monkeypatch)
    monkeypatch.undo()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATABASE_URL": url, "MIN_GROUP_SIZE": str(K)}

    def cli(*args: str, **more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=root,
            env={**env, **more},
            capture_output=True,
            text=True,
            timeout=60,
        )

    out = tmp_path / "agg.csv"
    done = cli("export", "--format", "csv", "--out", str(out), "--group-by", "state")
    assert done.returncode == 0 and "2 groups shown, 0 suppressed" in done.stdout
    raised = cli("export", "--format", "csv", "--group-by", "state", MIN_GROUP_SIZE="5")
    assert raised.returncode == 0 and "KY,responsive-funding-systems,0,,,true" in raised.stdout
    with InProcessServer(app_settings(url, export_token=TOKEN, min_group_size=K)).client() as c:
        api = c.get("/api/v1/export/aggregate?format=csv&group_by=state", headers=AUTH).text
    assert out.read_bytes().decode("utf-8") == api  # CRLF kept, as RFC 4180 asks
    long = cli("export", "--layout", "long", "--group-by", "state", "--state", "OH")
    header, first = long.stdout.splitlines()[:2]
    assert header.startswith("state,condition,condition_name,measure,stage,stage_name,count,")
    assert first.startswith("OH,vision-for-student-success,Vision for Student Success,stage,0,")
    assert (
        "until is before since"
        in cli("export", "--since", "2026-11-05", "--until", "2026-11-01").stderr
    )
    before = snapshot(url)
    rebuilt = cli("aggregates", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "from 12 responses (released in batches of 2)" in rebuilt.stdout
    assert snapshot(url) == before
    # Raised, and rebuilt: batches of 5, which none of the fixture's cells has.
    assert cli("aggregates", "rebuild", MIN_GROUP_SIZE="5").returncode == 0
    daily, monthly, pending = snapshot(url)
    assert daily == monthly == [] and responses_counted(pending) == len(FIXTURE)
