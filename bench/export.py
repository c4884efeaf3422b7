"""Aggregate export at a million responses, against a bare GROUP BY, on SQLite (`make bench`).

Seeds 1,000,000 responses' worth of counts quickly: the daily and monthly rollup rows the
responses would have produced (computed in Python from seeded random responses and
bulk-inserted, not sent through HTTP), and, for the baseline, a 1,000,000-row table of the same
responses scanned with a plain GROUP BY. One partner's responses carry widget tags (`ref`), a
dimension of the cells like the others. Then times, in the same run: the full export, one
grouped by state and month, a filtered one (one state, one month), the long layout as CSV, one
partner's export by tag and month,
the comparisons (states, roles, months side by side, as the API answers them), the bare
GROUP BY; and the extra time the rollup adds to a submission's transaction.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app.analytics.aggregates import (  # noqa: E402
    COUNTS,
    KEY,
    MONTH_KEY,
    Filters,
    aggregate,
    as_json,
    fold,
    publish,
    rollup_rows,
)
from app.analytics.compare import compare  # noqa: E402
from app.analytics.exports import Names, long_csv  # noqa: E402
from app.api.routes.export import compare_body  # noqa: E402
from app.db import make_engine, migrate  # noqa: E402
from app.models import ConditionRollup, ConditionRollupMonth  # noqa: E402
from quiz import load_content  # noqa: E402

# BENCH_RESPONSES makes a quicker, smaller run.
RESPONSES = int(os.environ.get("BENCH_RESPONSES", 1_000_000))
DAYS = 690
STATES = ["AL", "AK", "AZ", "CA", "CO", "KY", "NH", "OH", "PA", "SC", "TX", "VT", None]
ROLES = ["legislator", "state-board", "state-agency", "educator", None]
PARTNERS = ["news", "assoc", None, None, None]
# The widget tags (`ref`) of one partner's responses: each is a cell dimension of its own.
TAGS = ["spring-2027", "article.4211", None]
STAGES = (0, 0, 1, 1, 1, 2, 2, 3, None)
REPEAT = 5
BARE = f"bare GROUP BY over {RESPONSES:,} rows"
SUBMISSIONS = 2000


def simulate(
    conditions: list[str], quiz_version: str
) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    """The daily rollup rows a million random responses produce, and the bare table's rows."""
    rnd = random.Random(20261123)
    first_day = date(2025, 1, 1)
    daily: dict[tuple[str, ...], list[int]] = {}
    bare: list[tuple[Any, ...]] = []
    for _ in range(RESPONSES):
        day = (first_day + timedelta(days=rnd.randrange(DAYS))).isoformat()
        partner = rnd.choice(PARTNERS)
        tag = (rnd.choice(TAGS) or "") if partner == "news" else ""
        dims = (day, rnd.choice(STATES) or "", rnd.choice(ROLES) or "", partner or "")
        first = rnd.randrange(len(conditions))
        top = {first, (first + 1) % len(conditions), (first + 2) % len(conditions)}
        for j, condition in enumerate(conditions):
            stage = rnd.choice(STAGES)
            # KEY's order: day, state, role, partner, quiz version, condition, attribution, ref.
            key = (*dims, quiz_version, condition, "", tag)
            counts = daily.setdefault(key, [0] * len(COUNTS))
            counts[4 if stage is None else stage] += 1
            counts[5] += j == first
            counts[6] += j in top
        bare.append((*dims, conditions[first], 0))
    rows = [
        {
            **dict(zip(KEY, key, strict=True)),
            "month": key[0][:7],
            **dict(zip(COUNTS, n, strict=True)),
        }
        for key, n in daily.items()
    ]
    return rows, bare


def seed(engine: Engine, conditions: list[str], quiz_version: str) -> None:
    began = time.perf_counter()
    rows, bare = simulate(conditions, quiz_version)
    # In the order a running service writes them: a day's rows are made on the day its first
    # batch is released, so the daily table's rows lie in day order (in any order within a
    # day), as the monthly table's in month order. (Inserted in random order, a date range's
    # rows were scattered over the whole table, which no running service makes.)
    rows.sort(key=itemgetter("day"))
    months = sorted(fold(rows, MONTH_KEY), key=itemgetter("month"))
    with engine.begin() as conn:
        for model, values in ((ConditionRollup, rows), (ConditionRollupMonth, months)):
            table = model.__table__  # type: ignore[attr-defined]
            for k in range(0, len(values), 5000):
                conn.execute(table.insert(), values[k : k + 5000])
        conn.exec_driver_sql(
            "CREATE TABLE bare (day TEXT, state TEXT, role TEXT, partner TEXT, condition TEXT, stage INT)"
        )
        conn.exec_driver_sql("INSERT INTO bare VALUES (?, ?, ?, ?, ?, ?)", bare)
        conn.exec_driver_sql("CREATE TABLE scratch (x INT)")
    print(
        f"seeded {RESPONSES:,} responses: {len(rows):,} daily and {len(months):,} monthly rollup "
        f"rows, {len(bare):,} bare rows, in {time.perf_counter() - began:.1f} s"
    )


def timed(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs) * 1000


def export(engine: Engine, filters: Filters, group_by: list[Any]) -> Callable[[], object]:
    def run() -> object:
        with Session(engine) as session:
            return as_json(aggregate(session, filters, group_by, 5), datetime.now(UTC))

    return run


def long_export(engine: Engine, names: Names, group_by: list[Any]) -> Callable[[], object]:
    def run() -> object:
        with Session(engine) as session:
            now = datetime.now(UTC)
            return long_csv(aggregate(session, Filters(), group_by, 5), names, "2.0", now)

    return run


def comparison(engine: Engine, names: Names, by: Any) -> Callable[[], object]:
    def run() -> object:
        with Session(engine) as session:
            found = compare(session, Filters(), by, 5, names)
            return compare_body(found, datetime.now(UTC)).model_dump_json()

    return run


def main() -> None:
    framework, quiz = load_content()
    conditions = [c.slug for c in framework.conditions]
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-export-')) / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine, url)
    seed(engine, conditions, quiz.version)

    def bare() -> object:
        with engine.connect() as conn:
            query = "SELECT condition, stage, count(*) FROM bare GROUP BY condition, stage"
            return conn.execute(text(query)).all()

    one_month = Filters(state="OH", since=date(2026, 1, 1), until=date(2026, 1, 31))
    odd_range = Filters(since=date(2025, 3, 17), until=date(2026, 2, 9))
    news = Filters(partner="news")
    names = Names.of(framework)
    results = {
        BARE: timed(bare),
        "full export": timed(export(engine, Filters(), [])),
        "full export by state x month": timed(export(engine, Filters(), ["state", "month"])),
        "filtered (one state, one month)": timed(export(engine, one_month, [])),
        "filtered (mid-month to mid-month)": timed(export(engine, odd_range, [])),
        "long CSV by state x month": timed(long_export(engine, names, ["state", "month"])),
        "one partner by tag x month": timed(export(engine, news, ["ref", "month"])),
        "compare states": timed(comparison(engine, names, "state")),
        "compare roles": timed(comparison(engine, names, "role")),
        "compare months": timed(comparison(engine, names, "month")),
    }
    base = results[BARE]
    for name, ms in results.items():
        print(f"{name:>36}: {ms:8.1f} ms (median of {REPEAT}) = {ms / base:5.2f} x bare")

    # The rollup's cost in a submission: both loops write and commit, as a submission does;
    # one also counts the response as the write path does: into its cell's pending counts,
    # releasing the batch into the daily and monthly rollups every fifth response.
    result = {
        "conditions": [{"slug": c, "stage": 1, "rank": i + 1} for i, c in enumerate(conditions)]
    }

    def write(rollup: bool) -> Callable[[], object]:
        def run() -> object:
            for i in range(SUBMISSIONS):
                with Session(engine) as session:
                    session.execute(text("INSERT INTO scratch VALUES (1)"))
                    if rollup:
                        moment = datetime(2026, 11, 1 + i % 20, tzinfo=UTC)
                        rows = rollup_rows(
                            created_at=moment,
                            state="OH",
                            role=None,
                            partner=None,
                            quiz_version=quiz.version,
                            result=result,
                        )
                        publish(session, [rows], 5)
                    session.commit()
            return None

        return run

    plain, with_rollup = timed(write(False), 3), timed(write(True), 3)
    extra = (with_rollup - plain) / SUBMISSIONS * 1000
    print(
        f"{'rollup cost per submission':>36}: {extra:8.1f} µs "
        f"({plain / SUBMISSIONS * 1000:.0f} µs for a bare write and commit, SQLite WAL)"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
