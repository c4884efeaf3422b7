"""A partner's widget tag (`ref`, `data-ref`) as an export filter and group (issue 23), through
the export API on SQLite and PostgreSQL: only with the partner named, and in released batches
of its own, so a tag's figure and the partner's figure differ by whole batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from app.analytics.aggregates import rebuild
from scoring import Scorer
from tests.api.test_export import TOKEN, serve, snapshot, store
from tests.api.test_partners import add_partner
from tests.support import InProcessServer, LiveServer, migrated

K = 3  # the release size these tests store and read with
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# (day, state, role, partner, funding stage, ref), in the order they are stored.
FIRST = [
    ("2026-11-02", "OH", "legislator", "news", 0, "spring"),
    ("2026-11-02", "OH", "legislator", "news", 1, None),
    ("2026-11-03", "OH", "legislator", "news", 2, "fall"),
    ("2026-11-03", "OH", "legislator", "news", 3, "spring"),
    ("2026-11-04", "OH", "legislator", "news", 0, None),
    ("2026-11-04", "OH", "legislator", "news", 1, "spring"),  # spring's batch: released
    ("2026-11-05", "OH", "legislator", "news", 2, None),  # the untagged batch: released
    ("2026-11-05", "OH", "legislator", "news", 3, "fall"),  # fall: 2 of 3, pending
    ("2026-11-05", "OH", "legislator", None, 0),
    ("2026-11-06", "OH", "legislator", None, 1),
    ("2026-11-06", "OH", "legislator", None, 2),  # no partner: released
]
LATER = [("2026-12-01", "OH", "legislator", "news", 0, "fall")]  # completes fall's batch


@pytest.fixture
def tagged(
    database_url: str, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, LiveServer | InProcessServer]]:
    url = migrated(database_url)
    add_partner(url)
    store(url, scorer, FIRST, monkeypatch, release_at=K)
    for server in serve(url, min_group_size=K):
        yield url, server


def export(c: Any, query: str) -> dict[str, Any]:
    r = c.get(f"/api/v1/export/aggregate?{query}", headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def shown(c: Any, query: str) -> int:
    return int(export(c, query)["meta"]["responses_shown"])


def by_ref(c: Any, query: str = "partner=news") -> dict[str, int]:
    groups = {}
    for row in export(c, f"{query}&group_by=ref")["rows"]:
        assert not row["suppressed"]
        groups[row["ref"]] = row["group_responses"]
    return groups


def test_a_tag_is_a_filter_and_a_group_of_its_partners_released_batches(
    tagged: tuple[str, LiveServer | InProcessServer],
    scorer: Scorer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, server = tagged
    with server.client() as c:
        assert shown(c, "") == 3 * K  # spring, news untagged, no partner; fall waits
        assert shown(c, "partner=news") == 2 * K
        assert by_ref(c) == {"": K, "spring": K}
        assert shown(c, "partner=news&ref=spring") == K
        assert shown(c, "partner=news&ref=") == K  # the partner's untagged responses
        assert shown(c, "partner=news&ref=fall") == 0
        grouped = c.get(
            "/api/v1/export/aggregate?partner=news&group_by=ref,month&format=csv", headers=AUTH
        )
        assert "fall" not in grouped.text  # nothing of a tag below k, not even its name
        # Every figure minus a narrower one is whole batches: the partner minus a tag, the
        # whole export minus the partner, a tag over a date range.
        for wider, narrower in [
            ("partner=news", "partner=news&ref=spring"),
            ("partner=news", "partner=news&ref="),
            ("", "partner=news&ref=spring"),
            ("partner=news&ref=spring", "partner=news&ref=spring&since=2026-11-05"),
            ("partner=news&until=2026-11-04", "partner=news&ref=spring&until=2026-11-04"),
        ]:
            isolated = shown(c, wider) - shown(c, narrower)
            assert isolated == 0 or isolated >= K, (wider, narrower, isolated)
        store(url, scorer, LATER, monkeypatch, release_at=K)
        assert by_ref(c) == {"": K, "fall": K, "spring": K}
        assert shown(c, "partner=news") == 3 * K
        assert shown(c, "partner=news&ref=fall&since=2026-12-01") == K  # released on 1 December
        # A comparison takes the tag as a filter too.
        compared = c.get("/api/v1/export/compare?by=state&partner=news&ref=fall", headers=AUTH)
        assert compared.status_code == 200, compared.text
        columns = compared.json()["columns"]
        assert [(col["value"], col["responses"]) for col in columns] == [("OH", K)]
        assert compared.json()["meta"]["filters"]["ref"] == "fall"


def test_a_tag_names_itself_in_the_files_header_name_and_meta(
    tagged: tuple[str, LiveServer | InProcessServer],
) -> None:
    _, server = tagged
    query = "partner=news&ref=spring&group_by=ref"
    with server.client() as c:
        long_csv = c.get(f"/api/v1/export/aggregate?{query}&format=csv&layout=long", headers=AUTH)
        rows_csv = c.get(f"/api/v1/export/aggregate?{query}&format=csv", headers=AUTH)
        as_json = export(c, f"{query}&layout=long")
    disposition = long_csv.headers["content-disposition"]
    assert "_partner-news_ref-spring_by-ref.csv" in disposition, disposition
    table = list(csv.DictReader(io.StringIO(long_csv.text)))
    assert table and {r["filters"] for r in table} == {"partner=news; ref=spring"}
    assert {r["ref"] for r in table} == {"spring"}
    stages = [
        r
        for r in table
        if r["measure"] == "stage" and r["condition"] == "responsive-funding-systems"
    ]
    assert sum(int(r["count"]) for r in stages) == K
    assert next(csv.reader(io.StringIO(rows_csv.text)))[0] == "ref"
    assert as_json["meta"]["filters"]["ref"] == "spring"
    assert as_json["meta"]["group_by"] == ["ref"] and as_json["meta"]["responses_shown"] == K


@pytest.mark.parametrize(
    ("path", "query", "field", "code"),
    [
        ("aggregate", "ref=spring", "query.ref", "needs_partner"),
        ("aggregate", "partner=&ref=spring", "query.ref", "needs_partner"),
        ("aggregate", "group_by=state,ref", "query.group_by", "needs_partner"),
        ("aggregate", "partner=news&ref=bad%20tag", "query.ref", "invalid_ref"),
        ("aggregate", "partner=news&ref=-lead", "query.ref", "invalid_ref"),
        ("aggregate", f"partner=news&ref={'x' * 41}", "query.ref", "invalid_ref"),
        ("compare", "by=state&ref=spring", "query.ref", "needs_partner"),
        ("aggregate", "partner=nobody&ref=spring", "query.partner", "unknown_partner"),
    ],
)
def test_a_tag_without_its_partner_or_of_the_wrong_form_is_a_422(
    tagged: tuple[str, LiveServer | InProcessServer], path: str, query: str, field: str, code: str
) -> None:
    _, server = tagged
    with server.client() as c:
        r = c.get(f"/api/v1/export/{path}?{query}", headers=AUTH)
    assert r.status_code == 422, r.text
    assert [(d["field"], d["code"]) for d in r.json()["error"]["details"]] == [(field, code)]


def test_rebuild_counts_tags_as_the_write_path_does(
    tagged: tuple[str, LiveServer | InProcessServer],
) -> None:
    """`aggregates rebuild` (and so migration 0016's backfill) releases tagged responses in
    the batches of their tag, exactly as the write path did."""
    from sqlalchemy import create_engine

    url, _ = tagged
    kept = snapshot(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        assert rebuild(conn, release_at=K) == len(FIRST)
    engine.dispose()
    assert snapshot(url) == kept


def test_the_cli_export_takes_a_tag_with_its_partner(
    tagged: tuple[str, LiveServer | InProcessServer],
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    url, _ = tagged
    root = Path(__file__).resolve().parents[2]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DATABASE_URL": url, "MIN_GROUP_SIZE": str(K)}
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "export", *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    grouped = cli("--partner", "news", "--group-by", "ref")
    assert grouped.returncode == 0, grouped.stderr
    rows = list(csv.DictReader(io.StringIO(grouped.stdout)))
    assert {(r["ref"], r["group_responses"]) for r in rows} == {("", str(K)), ("spring", str(K))}
    one = cli("--partner", "news", "--ref", "spring", "--layout", "long")
    assert {r["filters"] for r in csv.DictReader(io.StringIO(one.stdout))} == {
        "partner=news; ref=spring"
    }
    alone = cli("--ref", "spring")
    assert alone.returncode != 0 and "name the partner too" in alone.stderr
