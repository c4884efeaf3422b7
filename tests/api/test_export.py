"""Aggregate export, peer benchmarks and the rollup behind them, on SQLite and PostgreSQL."""

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

import app.submissions
from app.aggregates import Filters, aggregate, rebuild
from app.models import (
    ConditionRollup,
    ConditionRollupMonth,
    IdempotencyRecord,
    ResponseRecord,
)
from app.results import Results, register_content
from app.submissions import submit
from app.writer import DirectWriter
from quiz import Quiz, load_content
from scoring import Scorer, Submission
from tests.scoring.support import option_for
from tests.support import InProcessServer, LiveServer, app_settings, live_server, migrated

TOKEN = "analyst-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# Nine responses, by hand: (day, state, role, partner, funding stage)
FIXTURE = [
    ("2026-10-05", "OH", "state-agency", None, 0),
    ("2026-10-20", "OH", "state-agency", "news", 0),
    ("2026-11-02", "OH", "state-agency", "news", 1),
    ("2026-11-03", "OH", "legislator", None, None),
    ("2026-11-04", "OH", "legislator", None, 3),
    ("2026-11-05", "KY", "legislator", None, 0),
    ("2026-11-06", "KY", "legislator", None, 0),
    ("2026-11-07", "KY", "state-board", None, 2),
    ("2026-11-08", "KY", None, None, 2),
]


def store(url: str, scorer: Scorer, rows: list[tuple], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    engine = create_engine(url)
    results = Results(scorer)
    with engine.begin() as connection:
        register_content(connection, results)
    writer = DirectWriter(engine)

    async def store_all() -> None:
        for day, state, role, partner, funding in rows:
            moment = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
            monkeypatch.setattr(app.submissions, "utcnow", lambda m=moment: m)
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
            await submit(engine=engine, results=results, writer=writer, submission=submission)

    # In a thread of its own: a browser test's thread already runs Playwright's event loop.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, store_all()).result()
    engine.dispose()


@pytest.fixture
def exported(
    database_url: str, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer | InProcessServer]:
    url = migrated(database_url)
    store(url, scorer, FIXTURE, monkeypatch)
    if url.startswith("sqlite"):
        yield InProcessServer(app_settings(url, export_token=TOKEN))
        return
    with live_server(url, export_token=TOKEN) as server:
        yield server


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
    assert {s: r["count"] for s, r in funding.items()} == {
        "0": 4,
        "1": 1,
        "2": 2,
        "3": 1,
        "unknown": 1,
    }
    assert funding["0"]["share"] == round(4 / 9, 4) and funding["0"]["group_responses"] == 9
    assert all(r["suppressed"] is False for r in body["rows"])
    measuring = {
        r["stage"]: r["count"] for r in body["rows"] if r["condition"] == "measuring-success"
    }
    assert measuring == {"0": 0, "1": 0, "2": 0, "3": 0, "unknown": 9}
    meta = body["meta"]
    assert meta["quiz_versions"] == [quiz.version] and meta["responses_shown"] == 9
    assert meta["min_group_size"] == 5 and "fewer than 5" in meta["suppression"]
    firsts = sum(r["ranked_first"] for r in body["rows"] if r["stage"] == "0")
    assert firsts == 9  # every response ranks exactly one condition first


def test_small_groups_are_suppressed_and_cannot_be_differenced(exported) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        body = c.get("/api/v1/export/aggregate?group_by=state", headers=AUTH).json()
    oh, ky = funding_rows(body, state="OH"), funding_rows(body, state="KY")
    assert {s: r["count"] for s, r in oh.items()} == {"0": 2, "1": 1, "2": 0, "3": 1, "unknown": 1}
    assert all(r["suppressed"] and r["count"] is None and r["share"] is None for r in ky.values())
    assert all(r["group_responses"] is None and r["ranked_first"] is None for r in ky.values())
    # Totals cover shown groups only: 9 responses in all, but only OH's 5 can be read here.
    assert body["meta"]["responses_shown"] == 5
    assert body["meta"]["groups_shown"] == 1 and body["meta"]["groups_suppressed"] == 1
    assert not any(r["count"] == 4 for r in body["rows"] if r.get("state") == "KY")


def test_filters_and_grouping(exported) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:

        def get(query: str) -> dict:  # type: ignore[type-arg]
            r = c.get(f"/api/v1/export/aggregate?{query}", headers=AUTH)
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        assert funding_rows(get("state=OH"))["0"]["group_responses"] == 5
        assert funding_rows(get("since=2026-11-01"))["0"]["group_responses"] == 7
        assert (
            get("since=2026-11-01&until=2026-11-05")["meta"]["groups_suppressed"] == 1
        )  # 4 responses
        assert funding_rows(get("partner=news"))["0"]["suppressed"] is True
        by_month = get("group_by=month")
        assert funding_rows(by_month, month="2026-10")["0"]["suppressed"] is True
        assert funding_rows(by_month, month="2026-11")["0"]["group_responses"] == 7
        two = get("group_by=role,state")
        assert two["meta"]["columns"][:3] == ["role", "state", "condition"]
        assert list(two["rows"][0])[:2] == ["role", "state"]
        assert get("quiz_version=1999.1")["rows"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=colour", "group_by"),
        ("group_by=state,state", "group_by"),
        ("since=2026-13-01", "since"),
        ("until=yesterday", "until"),
        ("since=2026-11-05&until=2026-11-01", "until"),
        ("format=xml", "format"),
    ],
)
def test_bad_parameters_are_422(exported, query: str, field: str) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        r = c.get(f"/api/v1/export/aggregate?{query}", headers=AUTH)
    assert r.status_code == 422
    assert f"query.{field}" in [d["field"] for d in r.json()["error"]["details"]]


def test_csv(exported) -> None:  # type: ignore[no-untyped-def]
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
    ky = [row for row in table if row["state"] == "KY"]
    assert ky and all(
        row["count"] == "" and row["share"] == "" and row["suppressed"] == "true" for row in ky
    )
    oh_funding = {
        row["stage"]: row["count"]
        for row in table
        if row["state"] == "OH" and row["condition"] == "responsive-funding-systems"
    }
    assert oh_funding == {"0": "2", "1": "1", "2": "0", "3": "1", "unknown": "1"}


def test_peer_benchmarks_hide_small_groups(exported) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        r = c.get("/api/v1/benchmarks?state=KY")
        assert r.headers["cache-control"] == "public, max-age=60"
        body = r.json()
        funding = body["overall"]["responsive-funding-systems"]
        assert funding == {
            "responses": 9,
            "suppressed": False,
            "shares": {
                "0": round(4 / 9, 4),
                "1": round(1 / 9, 4),
                "2": round(2 / 9, 4),
                "3": round(1 / 9, 4),
                "unknown": round(1 / 9, 4),
            },
        }
        assert body["for_state"]["responsive-funding-systems"] == {
            "responses": 4,
            "suppressed": True,
            "shares": {},
        }
        oh = c.get("/api/v1/benchmarks?state=OH").json()["for_state"]["responsive-funding-systems"]
        assert oh["responses"] == 5 and not oh["suppressed"]


def test_result_page_shows_peers_and_a_note_for_small_groups(exported, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        form = {
            "quiz_version": quiz.version,
            **{q.id: q.options[0].id for q in quiz.questions},
            "state": "KY",
        }
        r = c.post("/quiz", data=form)
        page = c.get(r.headers["location"]).text
    assert "Of 10 responses from all respondents, 50% are at Not yet started." in page
    assert "Too few responses from respondents for Kentucky to compare (fewer than 5)." not in page
    assert "Of 5 responses from respondents for Kentucky" in page


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


def snapshot(url: str) -> list[list[tuple]]:  # type: ignore[type-arg]
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = [
            sorted(tuple(r._mapping.items()) for r in conn.execute(select(m.__table__)))  # type: ignore[attr-defined]
            for m in (ConditionRollup, ConditionRollupMonth)
        ]
    engine.dispose()
    return tables


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=answers)
def test_rollup_equals_recomputation(
    database_url: str, scorer: Scorer, monkeypatch: pytest.MonkeyPatch, data
) -> None:  # type: ignore[no-untyped-def]
    url = migrated(database_url)
    engine = create_engine(url)
    with engine.begin() as conn:
        for model in (
            IdempotencyRecord,
            ConditionRollup,
            ConditionRollupMonth,
            ResponseRecord,
        ):
            conn.execute(delete(model))
    store(url, scorer, data, monkeypatch)
    kept = snapshot(url)
    with engine.begin() as conn:
        assert rebuild(conn) == len(data)
    engine.dispose()
    assert snapshot(url) == kept
    for table in kept:
        counted = sum(
            dict(r)[c]
            for r in table
            for c in ("stage_0", "stage_1", "stage_2", "stage_3", "unknown")
        )
        assert counted == len(data) * 11


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
        store(url, scorer, rows, patch)
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
    env = {**os.environ, "DATABASE_URL": url}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    out = tmp_path / "agg.csv"
    done = cli("export", "--format", "csv", "--out", str(out), "--group-by", "state")
    assert done.returncode == 0 and "1 groups shown, 1 suppressed" in done.stdout
    with InProcessServer(app_settings(url, export_token=TOKEN)).client() as c:
        api = c.get("/api/v1/export/aggregate?format=csv&group_by=state", headers=AUTH).text
    assert out.read_bytes().decode("utf-8") == api  # CRLF kept, as RFC 4180 asks
    assert (
        "until is before since"
        in cli("export", "--since", "2026-11-05", "--until", "2026-11-01").stderr
    )
    before = snapshot(url)
    rebuilt = cli("aggregates", "rebuild")
    assert rebuilt.returncode == 0 and "from 9 responses" in rebuilt.stdout
    assert snapshot(url) == before
