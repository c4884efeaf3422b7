"""Issue 19, findings 1 and 2: each attack as it was run, through the public interface, on
SQLite and PostgreSQL.

Figures are made of released batches (app/analytics/aggregates.py, docs/privacy.md): no figure, alone,
subtracted from another or compared over time, covers a difference of fewer than k responses,
and no size of a group below k is shown. A team condition is shown only when TEAM_MIN_MEMBERS
members gave a known answer for it, and its counts change only by that many known answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, select
from sqlmodel import Session

import app.responses.submissions
from app.analytics.aggregates import (
    Aggregate,
    Filters,
    aggregate,
    defer_rollup,
    rebuild,
    rollup_rows,
    stage_counts,
)
from app.analytics.compare import COMPARE_BY, compare
from app.analytics.exports import Names
from app.models import ConditionRollup, ConditionRollupMonth, PendingRollup
from app.responses.writer import DirectWriter
from app.web.pages import RESULT_PAGES
from quiz import Quiz
from tests.scoring.support import QUESTIONS, Rung, every_question_at, option_for
from tests.support import InProcessServer, LiveServer, app_settings, live_server, migrated

K = 5  # MIN_GROUP_SIZE's default: the release size
TEAM = 3  # TEAM_MIN_MEMBERS's default
TOKEN = "analyst-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Client = httpx.Client | TestClient


@pytest.fixture
def site(database_url: str) -> Iterator[LiveServer | InProcessServer]:
    """The app with the export on and the default thresholds."""
    url = migrated(database_url)
    if url.startswith("sqlite"):
        yield InProcessServer(app_settings(url, export_token=TOKEN))
        return
    with live_server(url, export_token=TOKEN) as server:
        yield server


class Clock:
    """Sets the time the next responses are stored at (app.responses.submissions.utcnow)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.monkeypatch = monkeypatch
        self.n = 0

    def on(self, day: str) -> None:
        self.n += 1  # distinct times, in the order the responses are sent
        moment = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
        moment += timedelta(seconds=self.n)
        self.monkeypatch.setattr(app.responses.submissions, "utcnow", lambda: moment)


def respond(
    c: Client,
    quiz: Quiz,
    stages: dict[str, Rung],
    *,
    state: str | None = None,
    role: str | None = None,
    team: str | None = None,
) -> str:
    body: dict[str, Any] = {
        "quiz_version": quiz.version,
        "answers": [{"question_id": q, "option_id": option_for(q, r)} for q, r in stages.items()],
        "context": {"state": state, "role": role},
    }
    if team is not None:
        body["team"] = team
    r = c.post("/api/v1/responses", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


NOT_SURE: dict[str, Rung] = dict.fromkeys(QUESTIONS, None)
VICTIM = every_question_at(3)  # Wyoming's respondent: Statewide Transformation everywhere
# Five Ohio respondents, all state agencies, at varied stages.
OHIO = [every_question_at(s) for s in (0, 1, 1, 2, 0)]


def a_minute_later(server: LiveServer | InProcessServer) -> None:
    """What waiting out the benchmarks' one-minute cache does: the next read is fresh."""
    state = server.app.state
    state.benchmarks = type(state.benchmarks)()
    state.caches.of(RESULT_PAGES).clear()


def benchmarks(c: Client, state: str | None = None) -> dict[str, Any]:
    r = c.get("/api/v1/benchmarks", params={"state": state} if state else None)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def counts(entry: dict[str, Any]) -> dict[str, float]:
    """What a reader computes from a shown benchmark: responses at each stage."""
    return {s: share * entry["responses"] for s, share in entry["shares"].items()}


def assert_no_small_figure(body: dict[str, Any]) -> None:
    """Every benchmark entry is either shown for at least k responses or withheld, size too."""
    for part in ("overall", "for_state"):
        for entry in (body[part] or {}).values():
            if entry["suppressed"]:
                assert entry["responses"] is None and entry["shares"] == {}, entry
            else:
                assert entry["responses"] >= K, entry


def test_benchmarks_overall_minus_a_state_isolate_nobody(
    site: LiveServer | InProcessServer, quiz: Quiz, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1: 5 Ohio responses and 1 Wyoming response; overall minus ?state=OH gave the
    Wyoming respondent's stage on every condition, with no token."""
    clock = Clock(monkeypatch)
    with site.client() as c:
        for i, stages in enumerate(OHIO):
            clock.on(f"2026-11-0{i + 1}")
            respond(c, quiz, stages, state="OH", role="state-agency")
        clock.on("2026-11-06")
        respond(c, quiz, VICTIM, state="WY", role="legislator")
        ohio = benchmarks(c, "OH")
        wyoming = benchmarks(c, "WY")
    for slug, overall in ohio["overall"].items():
        oh = ohio["for_state"][slug]
        assert not overall["suppressed"] and not oh["suppressed"]
        isolated = overall["responses"] - oh["responses"]
        assert isolated == 0 or isolated >= K, (slug, isolated)
        if isolated == 0:
            assert counts(overall) == pytest.approx(counts(oh))
    for body in (ohio, wyoming):
        assert_no_small_figure(body)
    # The suppressed group's size is not shown: not 1, not anything.
    assert all(e["responses"] is None for e in wyoming["for_state"].values())
    assert '"responses":1,' not in json.dumps(wyoming, separators=(",", ":"))


def test_one_new_response_does_not_move_the_overall_benchmark(
    site: LiveServer | InProcessServer, quiz: Quiz, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1, over time: the overall figures before and 61 s after one new response gave
    that response away. Now they change only when k responses of one cell have arrived, and
    then by k."""
    clock = Clock(monkeypatch)
    with site.client() as c:
        for i, stages in enumerate(OHIO):
            clock.on(f"2026-11-0{i + 1}")
            respond(c, quiz, stages, state="OH", role="state-agency")
        before = benchmarks(c)["overall"]
        clock.on("2026-11-06")
        respond(c, quiz, VICTIM, state="WY", role="legislator")
        a_minute_later(site)
        after = benchmarks(c)["overall"]
        assert after == before  # nothing to subtract
        for i in range(K - 1):  # the rest of Wyoming's batch
            clock.on(f"2026-11-{7 + i:02d}")
            respond(c, quiz, every_question_at(i % 3), state="WY", role="legislator")
            a_minute_later(site)
            moved = benchmarks(c)["overall"]
            assert_no_small_figure({"overall": moved, "for_state": None})
            for slug, entry in moved.items():
                grown = entry["responses"] - (before[slug]["responses"] or 0)
                assert grown == 0 or grown >= K, (slug, grown)
    assert {e["responses"] for e in moved.values()} == {2 * K}  # one batch of k more


def released(c: Client, query: str) -> int:
    """How many responses an export's shown figures cover: what a reader adds up."""
    r = c.get(f"/api/v1/export/aggregate?{query}", headers=AUTH)
    assert r.status_code == 200, r.text
    meta = r.json()["meta"]
    rows = r.json()["rows"]
    assert all(row["group_responses"] is None for row in rows if row["suppressed"])
    return int(meta["responses_shown"])


def test_export_differences_isolate_nobody(
    site: LiveServer | InProcessServer, quiz: Quiz, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1, the analyst export: with and without a filter, a total and its groups, and
    overlapping date ranges each isolated one response."""
    clock = Clock(monkeypatch)
    with site.client() as c:
        for i, stages in enumerate(OHIO):
            clock.on(f"2026-11-0{i + 1}")
            respond(c, quiz, stages, state="OH", role="state-agency")
            if i == 1:  # the victim answers on 2 November
                respond(c, quiz, VICTIM, state="WY", role="legislator")
        # Each pair: a wider query and a narrower one whose population lies inside it.
        pairs = [
            ("", "state=OH"),
            ("", "group_by=state"),
            ("", "group_by=role"),
            ("state=OH", "state=OH&group_by=role"),
            (f"quiz_version={quiz.version}", f"quiz_version={quiz.version}&state=OH"),
            ("since=2026-11-01", "since=2026-11-02"),
            ("since=2026-11-01", "since=2026-11-03"),
            ("until=2026-11-05", "until=2026-11-04"),
            ("until=2026-11-05", "until=2026-11-02"),
            ("since=2026-11-02&until=2026-11-05", "since=2026-11-03&until=2026-11-05"),
            ("group_by=month", "since=2026-11-02&group_by=month"),
        ]
        for wider, narrower in pairs:
            isolated = released(c, wider) - released(c, narrower)
            assert isolated == 0 or isolated >= K, (wider, narrower, isolated)
        assert released(c, "") == K  # Ohio's batch, released on 5 November
        assert released(c, "until=2026-11-04") == 0
        for fmt in ("json", "csv"):
            grouped = c.get(f"/api/v1/export/aggregate?group_by=state&format={fmt}", headers=AUTH)
            assert "WY" not in grouped.text  # nothing of a group below k, not even its name


def test_no_size_of_a_suppressed_group_anywhere(
    tmp_path: Any, quiz: Quiz, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a group below MIN_GROUP_SIZE still exists (MIN_GROUP_SIZE raised from 2 to 5
    without `aggregates rebuild`), it is marked suppressed and its size is shown nowhere:
    benchmarks, export JSON and CSV, insights, result page."""
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    clock = Clock(monkeypatch)
    with TestClient(create(url, min_group_size=2)) as c:
        for i in range(6):
            clock.on(f"2026-11-0{i + 1}")
            respond(c, quiz, every_question_at(i % 4), state="OH", role="state-agency")
        for i in range(2):
            clock.on(f"2026-11-0{i + 7}")
            last = respond(c, quiz, VICTIM, state="WY", role="legislator")
    raised = create(url, min_group_size=5)
    with TestClient(raised, base_url="https://testserver", follow_redirects=False) as c:
        body = benchmarks(c, "WY")
        assert all(e["suppressed"] for e in body["for_state"].values())
        assert_no_small_figure(body)
        assert {e["responses"] for e in body["overall"].values()} == {8}

        export = c.get("/api/v1/export/aggregate?group_by=state", headers=AUTH).json()
        wy = [r for r in export["rows"] if r["state"] == "WY"]
        assert wy and all(r["suppressed"] for r in wy)
        assert all(r[k] is None for r in wy for k in ("count", "share", "group_responses"))
        assert all(r[k] is None for r in wy for k in ("ranked_first", "top_three"))
        assert export["meta"]["responses_shown"] == 6
        csv = c.get("/api/v1/export/aggregate?group_by=state&format=csv", headers=AUTH).text
        wy_lines = [line for line in csv.splitlines() if line.startswith("WY,")]
        assert wy_lines and all(line.endswith(",,,true,,,") for line in wy_lines)

        from tests.web.test_insights import login

        login(c)  # type: ignore[arg-type]
        page = c.get("/insights?state=WY").text
        assert "Too few responses match these filters to show (fewer than 5)" in page
        assert "2 responses" not in page and "<svg" not in page
        result = c.get(f"/results/{last}").text
        assert "Too few responses to compare with" in result
        assert "respondents for Wyoming (on all 11 conditions)" in result
        assert "groups of fewer than 5 responses are not shown" in result
        assert "Of 2 responses" not in result


def create(url: str, **overrides: object) -> Any:
    from app.main import create_app

    return create_app(app_settings(url, export_token=TOKEN, **overrides))


def test_responses_sent_at_once_to_one_cell_release_whole_batches(
    live: LiveServer, quiz: Quiz
) -> None:
    """23 responses of one cell at once: on PostgreSQL a transaction each, taking turns on the
    cell's pending rows; on SQLite several in one group commit. Either way four batches of 5 are
    released and 3 responses wait, none lost or counted twice."""
    stages = every_question_at(1)

    def send(_: int) -> None:
        with live.client() as c:
            respond(c, quiz, stages, state="OH", role="legislator")

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(send, range(4 * K + 3)))
    with live.client() as c:
        overall = benchmarks(c)["overall"]
    assert {e["responses"] for e in overall.values()} == {4 * K}
    engine = create_engine(live.app.state.settings.database_url)
    try:

        def pending() -> list[Any]:
            with engine.connect() as conn:
                return sorted(conn.execute(select(PendingRollup.__table__)).all())  # type: ignore[attr-defined]

        held = pending()
        assert len(held) == 11
        assert {r.stage_0 + r.stage_1 + r.stage_2 + r.stage_3 + r.unknown for r in held} == {3}
        with engine.begin() as conn:  # the same, replayed from the stored responses
            assert rebuild(conn, release_at=K) == 4 * K + 3
        assert pending() == held
    finally:
        engine.dispose()


# --- teams ---------------------------------------------------------------------------------


def new_team(c: Client) -> dict[str, Any]:
    r = c.post("/api/v1/teams", json={"name": "Ohio leadership", "state": "OH"})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def known_answers(condition: dict[str, Any]) -> int:
    return sum(n for stage, n in condition["counts"].items() if stage != "unknown")


def test_fake_not_sure_members_do_not_open_a_team(
    site: LiveServer | InProcessServer, quiz: Quiz
) -> None:
    """Finding 2: one real member and two "not sure everywhere" submissions through the join
    link made the page show counts, whose one known count per condition was the real member's
    stage. A condition is shown only with TEAM_MIN_MEMBERS known answers."""
    with site.client() as c:
        team = new_team(c)
        respond(c, quiz, every_question_at(2) | {"funding": 0}, team=team["join_token"])
        for _ in range(TEAM - 1):
            respond(c, quiz, NOT_SURE, team=team["join_token"])
        view = c.get(f"/api/v1/teams/{team['id']}").json()
        page = c.get(f"/teams/{team['id']}").text
    assert view["members"] == TEAM
    for condition in view["conditions"] or []:
        assert condition["counts"] is None or known_answers(condition) >= TEAM, condition
        if condition["counts"] is None:
            assert condition["too_few_answers"] and condition["team_stage"] is None
            assert condition["disagreement"] is None and condition["differing_questions"] == []
    for r in view["recommendations"] or []:
        assert r["team_stage"] is None  # nothing ranks on one member's stage
    assert "Not yet started</span>" not in page and "Too few answers" in page


def test_a_team_condition_changes_only_by_a_batch_of_known_answers(
    site: LiveServer | InProcessServer, quiz: Quiz
) -> None:
    """Finding 2, over time: reading a team before and after one more member joined gave that
    member's answers. A condition's counts now change only when TEAM_MIN_MEMBERS new known
    answers have arrived since the counts shown last."""
    with site.client() as c:
        team = new_team(c)
        url = f"/api/v1/teams/{team['id']}"
        for s in (1, 1, 2):
            respond(c, quiz, every_question_at(s), team=team["join_token"])
        first = c.get(url).json()["conditions"]
        assert all(known_answers(x) == TEAM for x in first)
        respond(c, quiz, every_question_at(3), team=team["join_token"])  # the fourth member
        view = c.get(url).json()
        assert view["members"] == TEAM + 1 and view["conditions"] == first
        respond(c, quiz, NOT_SURE, team=team["join_token"])  # not sure: no known answer
        assert c.get(url).json()["conditions"] == first
        for s in (0, 3):
            respond(c, quiz, every_question_at(s), team=team["join_token"])
            later = c.get(url).json()["conditions"]
            for x, y in zip(first, later, strict=True):
                added = known_answers(y) - known_answers(x)
                assert added == 0 or added >= TEAM, (y["slug"], added)
    # Three more known answers (the fourth, sixth and seventh members), and the not-sure
    # member who came between them, are now counted.
    funding = next(x for x in later if x["slug"] == "responsive-funding-systems")
    assert funding["counts"] == {"0": 1, "1": 2, "2": 1, "3": 2, "unknown": 1}


# --- the property: nothing isolates fewer than k ---------------------------------------------

CONDITIONS = ("alpha", "beta", "gamma")
FIRST_DAY = date(2026, 10, 28)  # a week across a month's end
DAYS = [FIRST_DAY + timedelta(days=i) for i in range(7)]
Box = tuple[tuple[str | None, ...], date | None, date | None]  # cell values or None: any


def cells() -> st.SearchStrategy[tuple[str, str, str, str, str]]:
    """A cell's values; a tag (ref) only on a partner's responses, as the widget stores it."""
    return st.tuples(
        st.sampled_from(["v1", "v2"]),
        st.sampled_from(["OH", "WY", ""]),
        st.sampled_from(["legislator", ""]),
        st.sampled_from(["news", ""]),
        st.sampled_from(["spring", "fall", ""]),
    ).map(lambda c: c if c[3] else (*c[:4], ""))


def with_partner_only(request: dict[str, Any]) -> dict[str, Any]:
    """A tag, as a filter or a group, only where the partner is named (the export's rule)."""
    if request["partner"]:
        return request
    return {**request, "ref": None, "group_by": [g for g in request["group_by"] if g != "ref"]}


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    """Random responses (a few cells, random days in order, random stages and ranks), stored in
    random transactions (as a group commit does), and random requests."""
    pool = draw(st.lists(cells(), min_size=1, max_size=4, unique=True))
    n = draw(st.integers(min_value=1, max_value=36))
    days = sorted(draw(st.lists(st.sampled_from(DAYS), min_size=n, max_size=n)))
    responses = [
        {
            "cell": draw(st.sampled_from(pool)),
            "day": day,
            "stages": draw(st.lists(st.sampled_from([0, 1, 2, 3, None]), min_size=3, max_size=3)),
            "ranks": draw(st.permutations([1, 2, 3])),
        }
        for day in days
    ]
    sizes, left = [], n
    while left:
        size = draw(st.integers(min_value=1, max_value=min(4, left)))
        sizes.append(size)
        left -= size
    requests = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "quiz_version": st.sampled_from([None, "v1", "v2"]),
                    "state": st.sampled_from([None, "OH", "WY", ""]),
                    "role": st.sampled_from([None, "legislator", ""]),
                    "partner": st.sampled_from([None, "news", "news", ""]),
                    "ref": st.sampled_from([None, None, "spring", "fall", ""]),
                    "since": st.none() | st.sampled_from(DAYS),
                    "until": st.none() | st.sampled_from(DAYS),
                    "group_by": st.lists(
                        st.sampled_from(["state", "role", "partner", "ref", "month"]),
                        unique=True,
                        max_size=3,
                    ),
                }
            ).map(with_partner_only),
            min_size=2,
            max_size=5,
        )
    )
    return {
        "release_at": draw(st.sampled_from([2, 3, 5])),
        "responses": responses,
        "transactions": sizes,
        "requests": requests,
    }


def _rows(response: dict[str, Any], moment: datetime) -> list[dict[str, Any]]:
    quiz_version, state, role, partner, ref = response["cell"]
    result = {
        "conditions": [
            {"slug": slug, "stage": stage, "rank": rank}
            for slug, stage, rank in zip(
                CONDITIONS, response["stages"], response["ranks"], strict=True
            )
        ]
    }
    return rollup_rows(
        created_at=moment,
        state=state,
        role=role,
        partner=partner,
        quiz_version=quiz_version,
        result=result,
        ref=ref,
    )


def _boxes(request: dict[str, Any], agg: Aggregate) -> Iterator[tuple[Box, int]]:
    """The population of the whole request and of each of its groups, as boxes of cell values
    and a date range, with the responses each covers."""
    cell = tuple(request[d] for d in CELL_DIMENSIONS)
    yield (cell, request["since"], request["until"]), sum(g.responses for g in agg.groups)
    yield from _group_boxes(request, [(g.values, g.responses) for g in agg.groups])


def _group_boxes(
    request: dict[str, Any], groups: list[tuple[dict[str, str], int]]
) -> Iterator[tuple[Box, int]]:
    """Each group's population (its values within the request's), as a box."""
    cell = tuple(request[d] for d in CELL_DIMENSIONS)
    since, until = request["since"], request["until"]
    for group_values, responses in groups:
        values = list(cell)
        lo, hi = since, until
        for name, value in group_values.items():
            if name == "month":
                start = date.fromisoformat(value + "-01")
                end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(1)
                lo, hi = max(lo or start, start), min(hi or end, end)
            else:
                values[CELL_DIMENSIONS.index(name)] = value
        yield (tuple(values), lo, hi), responses


NAMES = Names({}, {s: s for s in ("0", "1", "2", "3", "unknown")})


def _comparison_boxes(
    session: Session, request: dict[str, Any], filters: Filters, k: int
) -> Iterator[tuple[Box, int]]:
    """Every comparison (app/analytics/compare.py) of the request's filters, by state, role and
    month: each column, and each of its cells, is a figure. A cell's stage counts add up to its
    column's responses (every response counts once in each condition), so a cell covers the
    column's population; and every cell equals the export grouped the same way."""
    for by in COMPARE_BY:
        comparison = compare(session, filters, by, k, NAMES)
        export = aggregate(session, filters, [by], k)
        assert [c.value for c in comparison.columns] == [g.values[by] for g in export.groups]
        for column, group in zip(comparison.columns, export.groups, strict=True):
            assert not column.suppressed and column.responses == group.responses >= k
            for cell in column.cells:
                assert cell.counts is not None and sum(cell.counts.values()) == column.responses
                assert cell.counts == stage_counts(group.conditions[cell.condition])
                ranked = group.conditions[cell.condition]
                assert (cell.ranked_first, cell.top_three) == (
                    ranked["ranked_first"],
                    ranked["top_three"],
                )
        yield from _group_boxes(
            request, [({by: c.value}, c.responses or 0) for c in comparison.columns]
        )


CELL_DIMENSIONS = ("quiz_version", "state", "role", "partner", "ref")


def _inside(inner: Box, outer: Box) -> bool:
    """Whether `inner`'s population lies inside `outer`'s by construction."""
    (cell_in, lo_in, hi_in), (cell_out, lo_out, hi_out) = inner, outer
    if any(o is not None and o != i for i, o in zip(cell_in, cell_out, strict=True)):
        return False
    if lo_out is not None and (lo_in is None or lo_in < lo_out):
        return False
    return hi_out is None or (hi_in is not None and hi_in <= hi_out)


def _expected(history: dict[str, Any]) -> list[tuple[int, tuple[str, ...], date, int]]:
    """The rule, computed here on its own: (transaction, cell, release day, size) of every batch."""
    k, held, batches = history["release_at"], {}, []
    transaction_of = [t for t, size in enumerate(history["transactions"]) for _ in range(size)]
    for i, response in enumerate(history["responses"]):
        held[response["cell"]] = held.get(response["cell"], 0) + 1
        if held[response["cell"]] >= k:
            batches.append((transaction_of[i], response["cell"], response["day"], k))
            held[response["cell"]] = 0
    return batches


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories())
def test_no_pair_of_figures_isolates_fewer_than_k(
    database_url: str, history: dict[str, Any]
) -> None:
    """For random data and random requests, each read after every transaction: every shown
    group has at least k responses (no group below k exists at all), each figure is exactly what
    the rule releases, and for every pair of figures whose populations are nested by
    construction (a request and a narrower one, a total and its groups, a date range and one
    inside it, the same request earlier and later), the difference is 0 or at least k. The
    figures include every comparison of each request's filters (states, roles, months side by
    side), column by column and cell by cell, so a comparison minus an export, or one heatmap
    cell minus another, is held to the same rule. Responses carry partners' tags (ref) and
    requests filter and group by them where they name the partner, so a tag's figure minus its
    partner's figure (or another tag's, or the untagged one's) is held to it too."""
    k = history["release_at"]
    url = migrated(database_url)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for model in (ConditionRollup, ConditionRollupMonth, PendingRollup):
                conn.execute(delete(model))
        writer = DirectWriter(engine, release_at=k)
        figures: list[tuple[int, Box, int]] = []
        expected = _expected(history)
        done = 0
        for t, size in enumerate(history["transactions"]):
            chunk = history["responses"][done : done + size]
            moments = [
                datetime.combine(r["day"], datetime.min.time(), UTC)
                + timedelta(hours=12, seconds=done + i)
                for i, r in enumerate(chunk)
            ]
            done += size

            def work(session: Session, chunk=chunk, moments=moments) -> None:  # type: ignore[no-untyped-def]
                for response, moment in zip(chunk, moments, strict=True):
                    defer_rollup(session, _rows(response, moment))

            writer.run(work)
            with Session(engine) as session:
                for request in history["requests"]:
                    filters = Filters(
                        since=request["since"],
                        until=request["until"],
                        **{d: request[d] for d in CELL_DIMENSIONS},
                    )
                    agg = aggregate(session, filters, request["group_by"], k)
                    for group in agg.groups:
                        assert not agg.suppressed(group) and group.responses >= k
                        assert group.responses % k == 0  # whole batches
                    every = [
                        *_boxes(request, agg),
                        *_comparison_boxes(session, request, filters, k),
                    ]
                    for box, responses in every:
                        released = sum(
                            n
                            for when, cell, day, n in expected
                            if when <= t and _inside(((*cell,), day, day), box)
                        )
                        assert responses == released, (box, t)
                        figures.append((t, box, responses))
    finally:
        engine.dispose()
    for t_outer, outer, n_outer in figures:
        for t_inner, inner, n_inner in figures:
            if t_inner <= t_outer and _inside(inner, outer):
                isolated = n_outer - n_inner
                assert isolated == 0 or isolated >= k, (outer, inner, isolated)
