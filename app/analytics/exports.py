"""What analysts download and read: names beside codes, percentages, each measure once, and the
file's provenance (quiz and scoring versions, filters, the release rule, the time) in the file
and in its name.

The *long* layout (`layout=long`) has one row per group, condition and **measure**: five rows of
`measure=stage` (one per stage, with its name), then one `ranked_first` and one `top_three` row,
so a pivot table over `count` filtered on one measure adds up to responses and never counts a
per-condition figure five times. The default layout (`layout=rows`, the contract's shape) is
left as it was (app/analytics/aggregates.py `rows`).

In the CSV, the provenance is in trailing columns of every row rather than in comment lines or a
header block: a spreadsheet (LibreOffice, Excel) and every CSV reader then see one header row
and a rectangular table, sorting or filtering keeps each row's provenance, and two files pasted
together stay tellable apart. The JSON has it once, in `meta`.

Everything here reads `Aggregate`s, that is released batches only (docs/privacy.md).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlmodel import Session, col

from app.analytics.aggregates import (
    STAGES,
    Aggregate,
    Filters,
    export_meta,
    stage_counts,
)
from app.errors import InvalidRequest
from app.models import ConditionRollupMonth, Partner

Layout = Literal["rows", "long"]
LONG_COLUMNS = (
    "condition",
    "condition_name",
    "measure",
    "stage",
    "stage_name",
    "count",
    "percent",
    "group_responses",
    "suppressed",
)
# Every CSV row of the long layout ends with these: where the figures come from.
META_COLUMNS = (
    "quiz_versions",
    "scoring_version",
    "filters",
    "released_in_batches_of",
    "generated_at",
)
MEASURES = ("stage", "ranked_first", "top_three")
# Our wording for the answers that place no stage: the framework names stages 0..3 only.
UNKNOWN_STAGE = "Not sure or unanswered"
FILTER_NAMES = ("quiz_version", "state", "role", "partner", "ref", "since", "until")
Row = dict[str, Any]


@dataclass(frozen=True)
class Names:
    """Human names for codes: conditions by slug, stages by code ("0".."3", "unknown")."""

    conditions: dict[str, str]
    stages: dict[str, str]

    def condition(self, slug: str) -> str:
        # A condition of another quiz version than the one served keeps its slug as its name.
        return self.conditions.get(slug, slug)

    @classmethod
    def of(cls, framework: Any) -> Names:
        stages = {str(s.level): s.name for s in framework.stages} | {"unknown": UNKNOWN_STAGE}
        return cls({c.slug: c.name for c in framework.conditions}, stages)


def percent(part: int, whole: int) -> float:
    """A share as a percentage with one decimal, as a person reads it."""
    return round(100 * part / whole, 1) if whole else 0.0


def long_rows(agg: Aggregate, names: Names) -> Iterator[Row]:
    """The long layout: per group and condition, a row per stage, then ranked_first and
    top_three once each; counts, percentages and sizes of a suppressed group withheld."""
    columns = (*agg.group_by, *LONG_COLUMNS)
    for values in long_values(agg, names):
        yield dict(zip(columns, values, strict=True))


def long_values(agg: Aggregate, names: Names) -> Iterator[tuple[Any, ...]]:
    """`long_rows` as tuples in column order: an export of many groups writes them directly."""
    order = {slug: i for i, slug in enumerate(names.conditions)}
    stage_names = [names.stages[s] for s in STAGES]
    for group in agg.groups:
        hidden = agg.suppressed(group)
        n = group.responses
        size = None if hidden else n
        head = tuple(group.values[g] for g in agg.group_by)
        for condition in sorted(group.conditions, key=lambda s: (order.get(s, len(order)), s)):
            counts = group.conditions[condition]
            base = (*head, condition, names.condition(condition))
            measured: list[tuple[str, str | None, str | None, int]] = [
                ("stage", stage, stage_name, k)
                for stage, stage_name, k in zip(
                    STAGES, stage_names, stage_counts(counts).values(), strict=True
                )
            ]
            measured += [(m, None, None, counts[m]) for m in MEASURES[1:]]
            for measure, stage, stage_name, k in measured:
                if hidden:
                    yield (*base, measure, stage, stage_name, None, None, None, True)
                else:
                    yield (*base, measure, stage, stage_name, k, percent(k, n), size, False)


def filters_text(filters: Filters) -> str:
    """The filters in one cell: `state=OH; since=2026-11-01`, or `none`."""
    given = filters.as_dict()
    parts = [f"{k}={given[k]}" for k in FILTER_NAMES if given.get(k) is not None]
    return "; ".join(parts) or "none"


def long_json(
    agg: Aggregate, names: Names, scoring_version: str, generated_at: datetime
) -> dict[str, Any]:
    meta = export_meta(agg, generated_at)
    meta.update(
        {
            "layout": "long",
            "scoring_version": scoring_version,
            "columns": [*agg.group_by, *LONG_COLUMNS],
            "measures": list(MEASURES),
            "stage_names": {s: names.stages[s] for s in STAGES},
        }
    )
    return {"meta": meta, "rows": list(long_rows(agg, names))}


def long_csv(agg: Aggregate, names: Names, scoring_version: str, generated_at: datetime) -> str:
    """RFC 4180 with one header row: the long layout, then the provenance columns. The same
    text `csv.writer` makes of `long_values` (a test holds them equal), written line by line
    from fields escaped once each: the widest export has tens of thousands of rows, whose
    every text field but the counts repeats (a group's values, a condition's name, a stage's,
    the provenance), and the csv module spent most of the export's time escaping them again."""
    field = _escaper()
    header = ",".join(field(c) for c in (*agg.group_by, *LONG_COLUMNS, *META_COLUMNS))
    meta = ",".join(
        field(v)
        for v in (
            " ".join(agg.quiz_versions),
            scoring_version,
            filters_text(agg.filters),
            str(agg.min_group_size),
            generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    )
    stage_parts = [f"stage,{field(stage)},{field(names.stages[stage])}," for stage in STAGES]
    measure_parts = [f"{m},,," for m in MEASURES[1:]]
    order = {slug: i for i, slug in enumerate(names.conditions)}
    lines = [header + "\r\n"]
    add = lines.append
    for group in agg.groups:
        hidden = agg.suppressed(group)
        n = group.responses
        head = "".join(field(group.values[g]) + "," for g in agg.group_by)
        for condition in sorted(group.conditions, key=lambda s: (order.get(s, len(order)), s)):
            counts = group.conditions[condition]
            base = f"{head}{field(condition)},{field(names.condition(condition))},"
            values = [*stage_counts(counts).values(), *(counts[m] for m in MEASURES[1:])]
            for part, k in zip((*stage_parts, *measure_parts), values, strict=True):
                if hidden:
                    add(f"{base}{part},,,true,{meta}\r\n")
                else:
                    add(f"{base}{part}{k},{percent(k, n)!r},{n},false,{meta}\r\n")
    return "".join(lines)


def _escaper() -> Callable[[str | None], str]:
    """A field as `csv.writer` writes it in a row of several (QUOTE_MINIMAL: quoted when it
    holds a comma, a quote or a line break; None empty), kept for the texts that repeat."""
    kept: dict[str | None, str] = {None: ""}

    def field(value: str | None) -> str:
        found = kept.get(value)
        if found is None:
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerow([value, None])
            found = kept[value] = out.getvalue()[: -len(",\n")]
        return found

    return field


_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def filename(
    prefix: str, filters: Filters, group_by: list[str], generated_at: datetime, extension: str
) -> str:
    """`aggregate-2026-12-02T004000Z_state-OH_from-2026-11-01_by-state.csv`: the time, the
    filters and the groups, in characters every file system and header takes."""
    parts = [f"{prefix}-{generated_at:%Y-%m-%dT%H%M%SZ}"]
    given = filters.as_dict()
    for name in ("quiz_version", "state", "role", "partner", "ref"):
        value = given.get(name)
        if value is not None:
            parts.append(f"{name.replace('_', '-')}-{_UNSAFE.sub('-', value)[:40] or 'none'}")
    for name, word in (("since", "from"), ("until", "to")):
        if given.get(name):
            parts.append(f"{word}-{given[name]}")
    if group_by:
        parts.append("by-" + "-".join(group_by))
    return "_".join(parts) + "." + extension


# --- the partner filter ------------------------------------------------------------------------


def known_partners(session: Session) -> dict[str, str]:
    """Partners an analyst can filter on, slug -> label: every registered partner (revoked ones
    too: their responses are still counted) and any other partner in the published counts
    (responses stored before partners were checked kept the name they claimed)."""
    registered = select(col(Partner.slug), col(Partner.name), col(Partner.revoked_at))
    known = {
        slug: name + (" (revoked)" if revoked_at is not None else "")
        for slug, name, revoked_at in session.execute(registered.order_by(col(Partner.name)))
    }
    published = session.execute(
        select(col(ConditionRollupMonth.partner))
        .where(col(ConditionRollupMonth.partner) != "")
        .distinct()
    ).scalars()
    for slug in sorted(published):
        known.setdefault(slug, f"{slug} (not registered)")
    return known


# A partner's slug as the registry makes them (app/partners/registry.py SLUG), or empty.
PARTNER_PATTERN = "^(?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)?$"
_PARTNER = re.compile(PARTNER_PATTERN)


def check_partner(session: Session, partner: str | None) -> None:
    """422 naming `query.partner` for a value that is not a slug, or a slug no partner has
    (the one rule of the parameter the OpenAPI document cannot state: the partners change);
    empty means "no partner"."""
    if not partner:
        return
    if not _PARTNER.match(partner):
        code, message = "invalid_partner", "expected a partner's slug: a-z, 0-9 and hyphens"
    elif partner in known_partners(session):
        return
    else:
        code = "unknown_partner"
        message = "no registered partner has this slug (python -m app.cli partners list)"
    raise InvalidRequest(
        "The request is not valid; see details.",
        [{"field": "query.partner", "code": code, "message": message}],
    )
