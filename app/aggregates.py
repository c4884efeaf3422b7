"""Aggregates for analysts and peer benchmarks, never a single respondent.

`condition_rollup` holds counts by day x state x role x partner x quiz version x condition,
added to in the same transaction as each response (`add_response`), so reading them costs as
much as the number of groups, not of responses, and they are never stale. `rebuild` recomputes
them from the stored responses.

Privacy rule (docs/privacy.md): a group with fewer than MIN_GROUP_SIZE responses is suppressed:
its counts and shares are withheld and flagged. Totals are computed over shown groups only, so
no reader can subtract shown figures from a total to find a suppressed one.
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
from typing import Any, Literal

from sqlalchemy import Table, delete, func, select
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from app.cache import TtlLru
from app.db import dialect_insert
from app.errors import InvalidRequest
from app.models import ConditionRollup, ConditionRollupMonth, ResponseRecord

GroupColumn = Literal["state", "role", "partner", "month"]
GROUP_COLUMNS: tuple[GroupColumn, ...] = ("state", "role", "partner", "month")
STAGES: tuple[str, ...] = ("0", "1", "2", "3", "unknown")
COUNTS = ("stage_0", "stage_1", "stage_2", "stage_3", "unknown", "ranked_first", "top_three")
KEY = ("day", "state", "role", "partner", "quiz_version", "condition")
MONTH_KEY = ("month", "state", "role", "partner", "quiz_version", "condition")
Rollup = type[ConditionRollup] | type[ConditionRollupMonth]
CSV_COLUMNS = ("condition", "stage", "count", "share", "suppressed")
EXTRA_COLUMNS = ("group_responses", "ranked_first", "top_three")


# --- keeping the rollup ------------------------------------------------------------------------


def rollup_rows(
    *,
    created_at: datetime,
    state: str | None,
    role: str | None,
    partner: str | None,
    quiz_version: str,
    result: dict[str, Any],
) -> list[dict[str, Any]]:
    """The increments one response adds: a row per condition."""
    day = created_at.astimezone(UTC).date() if created_at.tzinfo else created_at.date()
    rows = []
    for condition in result["conditions"]:
        stage = condition.get("stage")
        row = {
            "day": day.isoformat(),
            "month": day.isoformat()[:7],
            "state": state or "",
            "role": role or "",
            "partner": partner or "",
            "quiz_version": quiz_version,
            "condition": condition["slug"],
            **dict.fromkeys(COUNTS, 0),
        }
        row["unknown" if stage is None else f"stage_{stage}"] = 1
        row["ranked_first"] = int(condition.get("rank") == 1)
        row["top_three"] = int((condition.get("rank") or 99) <= 3)
        rows.append(row)
    return rows


def _table(model: Rollup) -> Table:
    table: Table = model.__table__  # type: ignore[union-attr]  # SQLModel adds it to table models
    return table


def add_to_rollup(connection: Connection | Session, rows: list[dict[str, Any]]) -> None:
    """Add to the daily and the monthly counts: one upsert statement each, executed for all
    rows at once (statements are built once per dialect, so SQLAlchemy's cache serves them)."""
    if not rows:
        return
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    daily, monthly = _upserts(bind.dialect.name)
    connection.execute(daily, rows)
    connection.execute(monthly, fold(rows, MONTH_KEY))


# Rollup rows a session has yet to write: a batch of submissions adds them up and writes them
# with one upsert per table just before its commit (app/writer.py).
PENDING = "pending_rollup"


def defer_rollup(session: Session, rows: list[dict[str, Any]]) -> None:
    session.info.setdefault(PENDING, []).extend(rows)


def pending_rollup(session: Session) -> list[dict[str, Any]]:
    pending: list[dict[str, Any]] = session.info.setdefault(PENDING, [])
    return pending


def write_pending_rollup(session: Session) -> None:
    """Add up what the session's submissions deferred and write it (days and months)."""
    rows = session.info.pop(PENDING, [])
    add_to_rollup(session, fold(rows, KEY))


@cache
def _upserts(dialect: str) -> tuple[Any, Any]:
    insert = dialect_insert(dialect)
    statements = []
    for model, key in ((ConditionRollup, KEY), (ConditionRollupMonth, MONTH_KEY)):
        table = _table(model)
        statement = insert(table)
        statements.append(
            statement.on_conflict_do_update(
                index_elements=list(key),
                set_={c: table.c[c] + statement.excluded[c] for c in COUNTS},
            )
        )
    return statements[0], statements[1]


def fold(rows: Iterable[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rollup rows added up by `key` (KEY for days, MONTH_KEY for months, dropping the day)."""
    folded: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        k = tuple(row[name] for name in key)
        if k in folded:
            for c in COUNTS:
                folded[k][c] += row[c]
        else:
            folded[k] = {n: v for n, v in row.items() if n in key or n in COUNTS or n == "month"}
    return list(folded.values())


def rebuild(conn: Connection, batch: int = 2000) -> int:
    """Recompute the rollup from the stored responses, in the caller's transaction; returns how
    many responses were read."""
    rows = conn.execute(
        select(
            col(ResponseRecord.created_at),
            col(ResponseRecord.state),
            col(ResponseRecord.role),
            col(ResponseRecord.partner),
            col(ResponseRecord.quiz_version),
            col(ResponseRecord.result),
        ).execution_options(yield_per=batch)
    )
    counted = [0]

    def daily() -> Iterator[dict[str, Any]]:  # streamed: a million responses never sit in memory
        for created_at, state, role, partner, quiz_version, result in rows:
            counted[0] += 1
            yield from rollup_rows(
                created_at=created_at,
                state=state,
                role=role,
                partner=partner,
                quiz_version=quiz_version,
                result=result,
            )

    totals = fold(daily(), KEY)
    months = fold(totals, MONTH_KEY)
    tables = ((ConditionRollup, totals), (ConditionRollupMonth, months))
    for model, values in tables:
        conn.execute(delete(model))
        for start in range(0, len(values), batch):
            conn.execute(_table(model).insert(), values[start : start + batch])
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

    def where(self, model: Rollup) -> list[Any]:
        """The filters other than dates, for either rollup table."""
        return [
            getattr(model, name) == getattr(self, name)
            for name in ("state", "partner", "quiz_version", "role")
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
    for model, dates in filters.spans():
        columns = [col(getattr(model, g)) for g in group_by]
        keys = [*columns, col(model.condition), col(model.quiz_version)]
        sums = [func.sum(col(getattr(model, c))) for c in COUNTS]
        query = select(*keys, *sums).where(*filters.where(model), *dates).group_by(*keys)
        for row in session.execute(query):
            versions.add(row[len(group_by) + 1])
            counts = totals.setdefault(tuple(row[: len(group_by) + 1]), dict.fromkeys(COUNTS, 0))
            for name, n in zip(COUNTS, row[len(group_by) + 2 :], strict=True):
                counts[name] += int(n or 0)
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
        f"Groups with fewer than {min_group_size} responses are suppressed: their counts and "
        "shares are withheld and marked suppressed. Totals cover shown groups only."
    )


def as_json(agg: Aggregate, generated_at: datetime) -> dict[str, Any]:
    shown = agg.shown()
    return {
        "meta": {
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
        },
        "rows": list(rows(agg)),
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
    responses: int
    suppressed: bool
    # share of responses at each stage ("0".."3", "unknown"); empty when suppressed
    shares: dict[str, float]


def benchmarks(
    session: Session, quiz_version: str, min_group_size: int, state: str | None = None
) -> dict[str, Benchmark]:
    """Per condition, where respondents place their states (for one quiz version, so stages mean
    the same thing), overall or for one state."""
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
            result[condition] = Benchmark(group.responses, hidden, shares)
    return result


BenchmarkKey = tuple[str, str | None, int]


class BenchmarkCache:
    """Benchmarks change slowly and are read on every result page: keep each (quiz version,
    state) for a minute per process, the same minute the API tells caches. Callers pass only
    known state codes (the API answers 422 to others), and the cache holds at most `max_items`
    (every state of a few quiz versions), the least recently used going first."""

    def __init__(self, seconds: float = 60.0, max_items: int = 256):
        self._kept: TtlLru[BenchmarkKey, dict[str, Benchmark]] = TtlLru(max_items, ttl=seconds)

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


# Every `group_by` the export takes, as the OpenAPI document lists them (app/openapi.py):
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
    group_by: str | None, since: date | None, until: date | None, **filters: str | None
) -> tuple[list[GroupColumn], Filters]:
    try:
        groups = parse_group_by(group_by)
    except ValueError as exc:
        raise InvalidRequest(
            "The request is not valid; see details.",
            [{"field": "query.group_by", "code": "invalid_group", "message": str(exc)}],
        ) from exc
    if since and until and until < since:
        raise InvalidRequest(
            "The request is not valid; see details.",
            [{"field": "query.until", "code": "before_since", "message": "until is before since"}],
        )
    return groups, Filters(since=since, until=until, **filters)
