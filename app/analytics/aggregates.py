"""Aggregates for analysts and peer benchmarks, never a single respondent.

Responses are published in **released batches** (docs/privacy.md). A *cell* is one quiz
version, state, role, partner, attribution and ref (the partner's widget tag, `data-ref`): every
value an aggregate can filter or group on, besides dates. In the transaction that stores a
response, its per-condition counts go to `pending_rollup`, keyed by cell and condition. When a
cell's pending responses reach the release size k (MIN_GROUP_SIZE, passed by the writer), the
whole batch is added to `condition_rollup` (by day) and `condition_rollup_month` under the
*release day*, the day of the response that completed it, and the cell's pending rows are
emptied, in that same transaction.

Everything that reads (exports, insights, benchmarks) reads only those released counts, so every
published population is a union of whole batches of at least k responses with identical cell
values. Any published figure minus any other (other filters, other groupings, other date ranges,
the same figure at another time) is then a sum of whole batches: 0 or at least k responses. The
costs: a response counts only once k responses of its cell have arrived, and the dates of
aggregates are release dates. `rebuild` recomputes all three tables from the stored responses,
replayed in creation order under the same rule.

A group with fewer than MIN_GROUP_SIZE responses (possible only when MIN_GROUP_SIZE was raised
after batches were released at a smaller size) is still suppressed: its counts, shares and size
are withheld and flagged. Totals cover shown groups only.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from operator import itemgetter
from typing import Any, Literal

from sqlalchemy import Table, bindparam, delete, func, inspect, null, select, text
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import TableClause
from sqlmodel import Session, col

from app.cache import Cache, CachePolicy, Caches
from app.config import Settings
from app.db import dialect_insert
from app.errors import InvalidRequest
from app.models import ConditionRollup, ConditionRollupMonth, PendingRollup, ResponseRecord

GroupColumn = Literal["state", "role", "partner", "attribution", "ref", "month"]
GROUP_COLUMNS: tuple[GroupColumn, ...] = (
    "state",
    "role",
    "partner",
    "attribution",
    "ref",
    "month",
)
STAGES: tuple[str, ...] = ("0", "1", "2", "3", "unknown")
COUNTS = ("stage_0", "stage_1", "stage_2", "stage_3", "unknown", "ranked_first", "top_three")
# Every response counts once in each condition, at one of these: their sum is a response count.
STAGE_COUNTS = COUNTS[:5]
KEY = ("day", "state", "role", "partner", "quiz_version", "condition", "attribution", "ref")
MONTH_KEY = ("month", "state", "role", "partner", "quiz_version", "condition", "attribution", "ref")
# What a batch shares: every dimension an aggregate can filter or group on, besides dates. A
# tag (`ref`) is part of it, so a tag's figures are whole batches of that tag, and a partner's
# figure minus its tags' figures is whole batches too (the untagged ones and other tags').
CELL = ("quiz_version", "state", "role", "partner", "attribution", "ref")
PENDING_KEY = (*CELL, "condition")
Rollup = type[ConditionRollup] | type[ConditionRollupMonth]
CSV_COLUMNS = ("condition", "stage", "count", "share", "suppressed")
EXTRA_COLUMNS = ("group_responses", "ranked_first", "top_three")
# The release size when none is given: MIN_GROUP_SIZE's default.
DEFAULT_RELEASE_AT: int = Settings.model_fields["min_group_size"].default
Row = dict[str, Any]
Cell = tuple[str, ...]
NO_COUNTS: dict[str, int] = dict.fromkeys(COUNTS, 0)


# --- keeping the rollup ------------------------------------------------------------------------


def rollup_rows(
    *,
    created_at: datetime,
    state: str | None,
    role: str | None,
    partner: str | None,
    quiz_version: str,
    result: dict[str, Any],
    attribution: str | None = None,
    ref: str | None = None,
) -> list[Row]:
    """The increments one response adds: a row per condition, with its day and month."""
    day = (
        created_at.astimezone(UTC).date() if created_at.tzinfo else created_at.date()
    ).isoformat()
    # What every row of the response shares, made once (a submission's rows are made in the
    # writer's batch, where each µs is one the event loop waits for the GIL).
    shared = {
        "day": day,
        "month": day[:7],
        "state": state or "",
        "role": role or "",
        "partner": partner or "",
        "quiz_version": quiz_version,
    }
    attribution, ref = attribution or "", ref or ""
    rows = []
    for condition in result["conditions"]:
        stage = condition.get("stage")
        row = {
            **shared,
            "condition": condition["slug"],
            "attribution": attribution,
            "ref": ref,
            **NO_COUNTS,
        }
        row["unknown" if stage is None else f"stage_{stage}"] = 1
        row["ranked_first"] = int(condition.get("rank") == 1)
        row["top_three"] = int((condition.get("rank") or 99) <= 3)
        rows.append(row)
    return rows


def _table(model: Rollup | type[PendingRollup]) -> Table:
    table: Table = model.__table__  # type: ignore[union-attr]  # SQLModel adds it to table models
    return table


def add_to_rollup(connection: Connection | Session, rows: list[Row]) -> None:
    """Add to the published daily and monthly counts: one upsert statement each, executed for
    all rows at once (statements are built once per dialect, so SQLAlchemy's cache serves them).
    Only released batches are added here (`publish`). Rows are written in the order of their
    keys: on PostgreSQL each updated row stays locked until commit, and two transactions taking
    the same rows in different orders could each wait for the other."""
    if not rows:
        return
    daily, monthly = _statements(_dialect(connection))[:2]
    connection.execute(daily, sorted(rows, key=itemgetter(*KEY)))
    connection.execute(monthly, sorted(fold(rows, MONTH_KEY), key=itemgetter(*MONTH_KEY)))


def _dialect(connection: Connection | Session) -> str:
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    return bind.dialect.name


# Responses a session has stored but not yet counted: a list per response of its rollup rows.
# A batch of submissions (app/responses/writer.py) counts them all just before its commit.
PENDING = "deferred_rollup"


def defer_rollup(session: Session, rows: list[Row]) -> None:
    """Count one response's rows (`rollup_rows`) when the session's work is written."""
    session.info.setdefault(PENDING, []).append(rows)


def pending_rollup(session: Session) -> list[list[Row]]:
    pending: list[list[Row]] = session.info.setdefault(PENDING, [])
    return pending


def write_pending_rollup(session: Session, release_at: int = DEFAULT_RELEASE_AT) -> None:
    """Count what the session's submissions deferred, releasing every batch they complete."""
    publish(session, session.info.pop(PENDING, []), release_at)


def publish(connection: Connection | Session, responses: list[list[Row]], release_at: int) -> None:
    """Add responses (each a list of `rollup_rows`, in the order they were stored) to their
    cells' pending counts, and release each batch of `release_at` they complete, exactly as if
    they came one at a time (`release`).

    The cells' pending rows are upserted first, in sorted order, then read back in the same
    transaction: on PostgreSQL the upsert takes the rows' locks, so transactions adding to one
    cell take turns and each reads what the one before it left (a cell's rows are all its
    conditions, each response having every condition of its quiz version); sorted, two
    transactions never wait for each other in a circle. SQLite has one writer at a time."""
    by_cell: dict[Cell, list[list[Row]]] = {}
    for rows in responses:
        if rows:
            by_cell.setdefault(_cell(rows[0]), []).append(rows)
    if not by_cell:
        return
    added = {cell: _by_condition(r for rs in batch for r in rs) for cell, batch in by_cell.items()}
    increments = [
        {**dict(zip(CELL, cell, strict=True)), "condition": condition, **counts}
        for cell in sorted(added)
        for condition, counts in sorted(added[cell].items())
    ]
    _, _, pending_upsert, read_cell, delete_cell = _statements(_dialect(connection))
    connection.execute(pending_upsert, increments)
    released: list[Row] = []
    for cell in sorted(by_cell):
        key = dict(zip(CELL, cell, strict=True))
        now = {
            row.condition: {c: int(getattr(row, c)) for c in COUNTS}
            for row in connection.execute(read_cell, key)
        }
        before = _minus(now, added[cell])  # what was pending before this transaction
        out, remainder = release(before, by_cell[cell], release_at)
        if not out:
            continue  # nothing completed: the upsert above was all
        released.extend(out)
        connection.execute(delete_cell, key)
        if remainder:
            connection.execute(
                _table(PendingRollup).insert(),
                [
                    {**key, "condition": condition, **counts}
                    for condition, counts in sorted(remainder.items())
                ],
            )
    add_to_rollup(connection, fold(released, KEY))


def release(
    pending: dict[str, dict[str, int]], responses: list[list[Row]], release_at: int
) -> tuple[list[Row], dict[str, dict[str, int]]]:
    """The rule, for one cell: `pending` (condition -> counts) plus `responses` of that cell, one
    at a time in order; each time the cell holds `release_at` responses, all of them are released
    under the day of the one that completed the batch. Returns the released rollup rows and what
    stays pending. Used by the write path (`publish`) and by `rebuild` alike."""
    released: list[Row] = []
    current = {condition: dict(counts) for condition, counts in pending.items()}
    held = responses_in(current)
    for rows in responses:
        for row in rows:
            counts = current.setdefault(row["condition"], dict.fromkeys(COUNTS, 0))
            for c in COUNTS:
                counts[c] += row[c]
        held += 1
        if held >= release_at:
            day = rows[0]["day"]
            for condition, counts in sorted(current.items()):
                cell = dict(zip(CELL, _cell(rows[0]), strict=True))
                released.append(
                    {"day": day, "month": day[:7], **cell, "condition": condition, **counts}
                )
            current, held = {}, 0
    return released, current


def responses_in(counts: dict[str, dict[str, int]]) -> int:
    """How many responses a cell's counts hold: each counts once in every condition."""
    return max((sum(n[c] for c in STAGE_COUNTS) for n in counts.values()), default=0)


def _cell(row: Row) -> Cell:
    return tuple(row[c] for c in CELL)


def _by_condition(rows: Iterable[Row]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = out.setdefault(row["condition"], dict.fromkeys(COUNTS, 0))
        for c in COUNTS:
            counts[c] += row[c]
    return out


def _minus(
    now: dict[str, dict[str, int]], added: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    before = {}
    for condition, counts in now.items():
        left = {c: n - added.get(condition, {}).get(c, 0) for c, n in counts.items()}
        if any(left.values()):
            before[condition] = left
    return before


@cache
def _statements(dialect: str) -> tuple[Any, Any, Any, Any, Any]:
    """Built once per dialect: the upserts of the daily, monthly and pending counts; reading and
    emptying the pending rows of one cell (by its primary key's first columns, so both use it)."""
    insert = dialect_insert(dialect)
    statements: list[Any] = []
    keyed: tuple[tuple[Rollup | type[PendingRollup], tuple[str, ...]], ...] = (
        (ConditionRollup, KEY),
        (ConditionRollupMonth, MONTH_KEY),
        (PendingRollup, PENDING_KEY),
    )
    for model, key in keyed:
        table = _table(model)
        statement = insert(table)
        statements.append(
            statement.on_conflict_do_update(
                index_elements=list(key),
                set_={c: table.c[c] + statement.excluded[c] for c in COUNTS},
            )
        )
    pending = _table(PendingRollup)
    one_cell = [pending.c[c] == bindparam(c) for c in CELL]
    read, empty = select(pending).where(*one_cell), delete(pending).where(*one_cell)
    return statements[0], statements[1], statements[2], read, empty


def fold(rows: Iterable[Row], key: tuple[str, ...]) -> list[Row]:
    """Rollup rows added up by `key` (KEY for days, MONTH_KEY for months, dropping the day)."""
    folded: dict[tuple[str, ...], Row] = {}
    kept = {*key, *COUNTS, "month"}
    for row in rows:
        k = tuple(row[name] for name in key)
        if k in folded:
            for c in COUNTS:
                folded[k][c] += row[c]
        else:
            folded[k] = {n: v for n, v in row.items() if n in kept}
    return list(folded.values())


def rebuild(conn: Connection, release_at: int | None, batch: int = 2000) -> int:
    """Recompute the rollups from the stored responses, in the caller's transaction; returns how
    many responses were read. Responses are replayed in creation order under the batch rule with
    `release_at` (MIN_GROUP_SIZE), which rewrites `pending_rollup` too; `release_at=None` counts
    every response at once on its own day (live rollups: the schema before migration 0009, which
    has no `pending_rollup`). Submissions wait meanwhile: the tables are emptied first (SQLite's
    write lock) and on PostgreSQL new responses are locked out until the commit.

    Migrations 0009 to 0015 call it on their own schema, which has no `ref` in the rollups (it
    came with 0016; `responses.ref` with 0013): every response is then counted untagged, which is
    all those tables could say."""
    tagged = "ref" in {c["name"] for c in inspect(conn).get_columns(_table(PendingRollup).name)}
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE responses IN SHARE MODE"))
    models: list[Rollup | type[PendingRollup]] = [ConditionRollup, ConditionRollupMonth]
    if release_at is not None:
        models.insert(0, PendingRollup)  # the first table a submission writes to
    for model in models:
        conn.execute(delete(model))
    rows = conn.execute(
        select(
            col(ResponseRecord.created_at),
            col(ResponseRecord.state),
            col(ResponseRecord.role),
            col(ResponseRecord.partner),
            col(ResponseRecord.quiz_version),
            col(ResponseRecord.result),
            col(ResponseRecord.attribution),
            col(ResponseRecord.ref) if tagged else null(),
        )
        .order_by(col(ResponseRecord.created_at), col(ResponseRecord.id))
        .execution_options(yield_per=batch)
    )
    counted = [0]
    pending: dict[Cell, dict[str, dict[str, int]]] = {}

    def daily() -> Iterator[Row]:  # streamed: a million responses never sit in memory
        for created_at, state, role, partner, quiz_version, result, attribution, ref in rows:
            counted[0] += 1
            one = rollup_rows(
                created_at=created_at,
                state=state,
                role=role,
                partner=partner,
                quiz_version=quiz_version,
                result=result,
                attribution=attribution,
                ref=ref,
            )
            if release_at is None or not one:
                yield from one
                continue
            cell = _cell(one[0])
            out, pending[cell] = release(pending.get(cell, {}), [one], release_at)
            yield from out

    totals = fold(daily(), KEY)
    months = fold(totals, MONTH_KEY)
    held = [
        {**dict(zip(CELL, cell, strict=True)), "condition": condition, **counts}
        for cell, conditions in sorted(pending.items())
        for condition, counts in sorted(conditions.items())
    ]
    tables = ((ConditionRollup, totals), (ConditionRollupMonth, months), (PendingRollup, held))
    for model, values in tables:
        into: TableClause = _table(model)
        if not tagged:  # the schema before 0016: the same columns but `ref`
            names = [c.name for c in into.columns if c.name != "ref"]
            into = sql_table(into.name, *(sql_column(n) for n in names))
            values = [{n: v for n, v in value.items() if n != "ref"} for value in values]
        for start in range(0, len(values), batch):
            conn.execute(into.insert(), values[start : start + batch])
    return counted[0]


# --- reading it --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    since: date | None = None
    until: date | None = None
    state: str | None = None
    partner: str | None = None
    quiz_version: str | None = None
    role: str | None = None
    # A partner's tag (`data-ref`); "" for the partner's untagged responses. The export takes
    # it only with `partner` (`export_query`): a tag is one partner's word, not a shared one.
    ref: str | None = None

    def where(self, model: Rollup) -> list[Any]:
        """The filters other than dates, for either rollup table."""
        return [
            getattr(model, name) == getattr(self, name)
            for name in ("state", "partner", "quiz_version", "role", "ref")
            if getattr(self, name) is not None
        ]

    def spans(self) -> list[tuple[Rollup, list[Any]]]:
        """Where to read the date range from: whole months from the monthly table, the days at
        either end that do not fill a month from the daily table."""
        since, until = self.since, self.until
        first = None if since is None else _month(since if since.day == 1 else _next_month(since))
        last = None
        if until is not None:
            last = _month(until if until == _month_end(until) else _month_start(until) - ONE_DAY)
        if since is not None and until is not None and first is not None and last is not None:
            if first > last:  # no whole month inside the range
                return [(ConditionRollup, _days(since, until))]
        spans: list[tuple[Rollup, list[Any]]] = [(ConditionRollupMonth, _months(first, last))]
        if since is not None and since.day != 1:
            spans.append((ConditionRollup, _days(since, _month_end(since))))
        if until is not None and until != _month_end(until):
            spans.append((ConditionRollup, _days(_month_start(until), until)))
        return spans

    def as_dict(self) -> dict[str, str | None]:
        return {k: (str(v) if v is not None else None) for k, v in self.__dict__.items()}


@dataclass
class Group:
    values: dict[str, str]
    responses: int = 0
    conditions: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class Aggregate:
    group_by: list[GroupColumn]
    filters: Filters
    min_group_size: int
    groups: list[Group]
    quiz_versions: list[str]

    def shown(self) -> list[Group]:
        return [g for g in self.groups if not self.suppressed(g)]

    def suppressed(self, group: Group) -> bool:
        return group.responses < self.min_group_size


def aggregate(
    session: Session, filters: Filters, group_by: list[GroupColumn], min_group_size: int
) -> Aggregate:
    """Counts by the chosen groups and condition, from the rollups: O(groups)."""
    totals: dict[tuple[str, ...], dict[str, int]] = {}
    versions: set[str] = set()
    if filters.since and filters.until and filters.until < filters.since:
        return Aggregate(group_by, filters, min_group_size, [], [])  # no day is in the range
    for model, dates in filters.spans():
        columns = [col(getattr(model, g)) for g in group_by]
        keys = [*columns, col(model.condition), col(model.quiz_version)]
        sums = [func.sum(col(getattr(model, c))) for c in COUNTS]
        query = select(*keys, *sums).where(*filters.where(model), *dates).group_by(*keys)
        width = len(group_by) + 1  # the groups' values and the condition
        for row in session.execute(query):
            versions.add(row[width])
            key, added = row[:width], [int(n or 0) for n in row[width + 1 :]]
            counts = totals.get(key)
            if counts is None:  # the first quiz version or span of this group and condition
                totals[key] = dict(zip(COUNTS, added, strict=True))
            else:
                for name, n in zip(COUNTS, added, strict=True):
                    counts[name] += n
    groups: dict[tuple[str, ...], Group] = {}
    for key, counts in totals.items():
        values, condition = key[:-1], key[-1]
        group = groups.setdefault(values, Group(dict(zip(group_by, values, strict=True))))
        group.conditions[condition] = counts
        # Every response counts once in every condition: a condition's total is the group's size.
        group.responses = max(group.responses, sum(counts[c] for c in COUNTS[:5]))
    ordered = [groups[k] for k in sorted(groups)]
    return Aggregate(group_by, filters, min_group_size, ordered, sorted(versions))


ONE_DAY = timedelta(days=1)


def _month(day: date) -> str:
    return day.isoformat()[:7]


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _month_end(day: date) -> date:
    return _next_month(day) - ONE_DAY


def _days(since: date, until: date) -> list[Any]:
    return [
        col(ConditionRollup.day) >= since.isoformat(),
        col(ConditionRollup.day) <= until.isoformat(),
    ]


def _months(first: str | None, last: str | None) -> list[Any]:
    clauses = []
    if first is not None:
        clauses.append(col(ConditionRollupMonth.month) >= first)
    if last is not None:
        clauses.append(col(ConditionRollupMonth.month) <= last)
    return clauses


def stage_counts(counts: dict[str, int]) -> dict[str, int]:
    return {s: counts["unknown" if s == "unknown" else f"stage_{s}"] for s in STAGES}


def rows(agg: Aggregate) -> Iterator[dict[str, Any]]:
    """Flat rows: group columns, condition, stage, count, share, suppressed, then extras."""
    for group in agg.groups:
        hidden = agg.suppressed(group)
        for condition in sorted(group.conditions):
            counts = group.conditions[condition]
            for stage, n in stage_counts(counts).items():
                yield {
                    **group.values,
                    "condition": condition,
                    "stage": stage,
                    "count": None if hidden else n,
                    "share": None if hidden else round(n / group.responses, 4),
                    "suppressed": hidden,
                    "group_responses": None if hidden else group.responses,
                    "ranked_first": None if hidden else counts["ranked_first"],
                    "top_three": None if hidden else counts["top_three"],
                }


def suppression_rule(min_group_size: int) -> str:
    return (
        f"Responses are counted in released batches: a response counts once {min_group_size} "
        "responses with its quiz version, state, role, partner, attribution and partner's tag "
        "(ref) have arrived, "
        "all of them on the day the batch completed (dates are release dates), so no difference between two "
        f"figures covers fewer than {min_group_size} responses. Groups with fewer than "
        f"{min_group_size} responses are suppressed: their counts, shares and size are withheld "
        "and marked suppressed. Totals cover shown groups only."
    )


def as_json(agg: Aggregate, generated_at: datetime) -> dict[str, Any]:
    return {"meta": export_meta(agg, generated_at), "rows": list(rows(agg))}


def export_meta(agg: Aggregate, generated_at: datetime) -> dict[str, Any]:
    """What the export's JSON says about its figures: filters, rule, versions, sizes."""
    shown = agg.shown()
    return {
        "generated_at": generated_at.isoformat(),
        "filters": agg.filters.as_dict(),
        "group_by": list(agg.group_by),
        "min_group_size": agg.min_group_size,
        "suppression": suppression_rule(agg.min_group_size),
        "quiz_versions": agg.quiz_versions,
        "groups_shown": len(shown),
        "groups_suppressed": len(agg.groups) - len(shown),
        "responses_shown": sum(g.responses for g in shown),
        "columns": [*agg.group_by, *CSV_COLUMNS, *EXTRA_COLUMNS],
    }


def as_csv(agg: Aggregate) -> str:
    """RFC 4180: a header row, CRLF line ends, empty cells for withheld values."""
    out = io.StringIO()
    columns = [*agg.group_by, *CSV_COLUMNS, *EXTRA_COLUMNS]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows(agg):
        writer.writerow(
            {
                k: ("true" if v is True else "false" if v is False else "" if v is None else v)
                for k, v in row.items()
            }
        )
    return out.getvalue()


# --- peer benchmarks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Benchmark:
    # None when suppressed: the size of a group below the threshold is not shown either
    responses: int | None
    suppressed: bool
    # share of responses at each stage ("0".."3", "unknown"); empty when suppressed
    shares: dict[str, float]


def benchmarks(
    session: Session, quiz_version: str, min_group_size: int, state: str | None = None
) -> dict[str, Benchmark]:
    """Per condition, where respondents place their states (for one quiz version, so stages mean
    the same thing), overall or for one state: released batches only, like every aggregate. A
    condition without released responses is absent (`SUPPRESSED` stands in for it on pages)."""
    filters = Filters(quiz_version=quiz_version, state=state)
    agg = aggregate(session, filters, [], min_group_size)
    result: dict[str, Benchmark] = {}
    for group in agg.groups:
        hidden = agg.suppressed(group)
        for condition, counts in group.conditions.items():
            shares = (
                {}
                if hidden
                else {s: round(n / group.responses, 4) for s, n in stage_counts(counts).items()}
            )
            result[condition] = Benchmark(None if hidden else group.responses, hidden, shares)
    return result


# What a page or the API says for a group with fewer than MIN_GROUP_SIZE released responses,
# none at all included: the same answer either way, with no size.
SUPPRESSED = Benchmark(None, True, {})
BenchmarkKey = tuple[str, str | None, int]


BENCHMARKS = CachePolicy("benchmarks", max_items=256, ttl=60.0)


class BenchmarkCache:
    """Benchmarks change slowly and are read on every result page: keep each (quiz version,
    state) for a minute per process, the same minute the API tells caches. Callers pass only
    known state codes (the API answers 422 to others), and the cache holds at most `max_items`
    (every state of a few quiz versions), the least recently used going first."""

    def __init__(self, caches: Caches | None = None, policy: CachePolicy = BENCHMARKS):
        self._kept: Cache[BenchmarkKey, dict[str, Benchmark]] = (caches or Caches()).of(policy)

    def get(
        self, session: Session, quiz_version: str, min_group_size: int, state: str | None = None
    ) -> dict[str, Benchmark]:
        key = (quiz_version, state, min_group_size)
        kept = self._kept.get(key)
        if kept is not None:
            return kept
        found = benchmarks(session, quiz_version, min_group_size, state)
        self.put(key, found)
        return found

    def put(self, key: BenchmarkKey, found: dict[str, Benchmark]) -> None:
        self._kept.put(key, found)


# Every `group_by` the export takes, as the OpenAPI document lists them (app/http/openapi.py):
# empty (no grouping), or distinct group names joined by commas, no spaces, in any order.
GROUP_BY_VALUES: tuple[str, ...] = ("",) + tuple(
    ",".join(names)
    for n in range(1, len(GROUP_COLUMNS) + 1)
    for names in itertools.permutations(GROUP_COLUMNS, n)
)


def parse_group_by(raw: str | None) -> list[GroupColumn]:
    """`state,role` -> ["state", "role"]; raises ValueError naming an unknown or repeated one.
    Exactly as GROUP_BY_VALUES: no spaces and no empty names, which the document does not allow
    either."""
    if not raw:
        return []
    names = raw.split(",")
    unknown = [n for n in names if n not in GROUP_COLUMNS]
    if unknown:
        raise ValueError(f"unknown group {unknown[0]!r}; choose from {', '.join(GROUP_COLUMNS)}")
    if len(set(names)) != len(names):
        raise ValueError("a group is named twice")
    return names  # type: ignore[return-value]  # checked against GROUP_COLUMNS above


# The days an analyst can mean, for the export, the CLI and /insights alike: the service did not
# exist before 2020, and days far off (9999-12-31, 0001-01-01) broke the month arithmetic. As
# a pattern, for the OpenAPI document and the server's check alike: YYYY-MM-DD, the real
# calendar days from EARLIEST to LATEST (leap days in the leap years; 2100 has none), with
# [0-9] rather than \d, which would take other scripts' digits.
EARLIEST, LATEST = date(2020, 1, 1), date(2100, 12, 31)
_LEAP_YEARS = "20(?:2[048]|3[26]|4[048]|5[26]|6[048]|7[26]|8[048]|9[26])"
DATE_PATTERN = (
    "^(?:(?:20[2-9][0-9]|2100)-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    f"|{_LEAP_YEARS}-02-29)$"
)
_DATE = re.compile(DATE_PATTERN)
DATE_RULE = f"a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}, written as YYYY-MM-DD"


def parse_day(value: str) -> date | None:
    """The day `value` names, or None when it is not one of DATE_PATTERN's."""
    return date.fromisoformat(value) if _DATE.match(value) else None


def query_day(name: str, value: str | None) -> date | None:
    """A date query parameter: absent is None; anything but a day of DATE_PATTERN is a 422."""
    if value is None:
        return None
    day = parse_day(value)
    if day is None:
        raise InvalidRequest(
            "The request is not valid; see details.",
            [
                {
                    "field": f"query.{name}",
                    "code": "invalid_date",
                    "message": f"expected {DATE_RULE}",
                }
            ],
        )
    return day


def export_query(
    group_by: str | None,
    since: date | None,
    until: date | None,
    reversed_is_empty: bool = False,
    **filters: str | None,
) -> tuple[list[GroupColumn], Filters]:
    """The export's groups and filters. `until` before `since` is an error for people (the
    CLI, the insights form) and, with `reversed_is_empty`, an empty range for the API, whose
    schema can state each date's form but not a rule across the two."""
    try:
        groups = parse_group_by(group_by)
    except ValueError as exc:
        raise InvalidRequest(
            "The request is not valid; see details.",
            [{"field": "query.group_by", "code": "invalid_group", "message": str(exc)}],
        ) from exc
    if since and until and until < since and not reversed_is_empty:
        raise InvalidRequest(
            "The request is not valid; see details.",
            [{"field": "query.until", "code": "before_since", "message": "until is before since"}],
        )
    check_ref(filters.get("ref"), "ref" in groups, filters.get("partner"))
    return groups, Filters(since=since, until=until, **filters)


# A partner's tag as the widget takes it (`data-ref`, app/web/embedding.py), or empty: the
# partner's untagged responses.
REF_SHAPE = "[A-Za-z0-9][A-Za-z0-9._-]{0,39}"
REF_PATTERN = f"^(?:{REF_SHAPE})?$"
_REF = re.compile(REF_PATTERN)
NEEDS_PARTNER = "a tag (ref) is one partner's: name the partner too (partner=SLUG)"


def check_ref(ref: str | None, grouped: bool, partner: str | None) -> None:
    """A tag filter must look like a tag, and a tag (filter or group) needs a partner: tags are
    each partner's own words, and two partners' "spring" are not one campaign."""
    details = []
    if ref is not None and not _REF.match(ref):
        details.append(
            {
                "field": "query.ref",
                "code": "invalid_ref",
                "message": "expected a widget's data-ref: 1 to 40 of A-Z a-z 0-9 . _ -, "
                "starting with a letter or digit (empty: the partner's untagged responses)",
            }
        )
    elif (ref is not None or grouped) and not partner:
        field = "query.ref" if ref is not None else "query.group_by"
        details.append({"field": field, "code": "needs_partner", "message": NEEDS_PARTNER})
    if details:
        raise InvalidRequest("The request is not valid; see details.", details)
