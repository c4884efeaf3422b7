"""Comparisons side by side: states, roles or release months, per condition.

A comparison is `aggregate(..., group_by=[by])` laid out as groups x conditions, nothing more:
the same released batches, the same suppression, the same counts as the export grouped the same
way (a test holds the two equal). So every cell is a published population, a union of whole
batches of at least MIN_GROUP_SIZE responses, and any two cells, or a cell and any export
figure, differ by 0 or at least MIN_GROUP_SIZE responses (docs/privacy.md, "Comparisons").

The summary of a cell is the percentage of the group's responses at stage 2 or 3 (Replication
or Statewide Transformation): our choice of one number to put states side by side, not the
framework's; every stage's count and percentage is given beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlmodel import Session

from app.analytics.aggregates import Filters, aggregate, stage_counts
from app.analytics.exports import Names, percent

CompareBy = Literal["state", "role", "month"]
COMPARE_BY: tuple[CompareBy, ...] = ("state", "role", "month")
ADVANCED = ("2", "3")  # the stages the summary counts
SUMMARY = (
    "Percentage of the group's responses at stage 2 (Replication) or 3 (Statewide "
    "Transformation): our summary, not the framework's."
)


@dataclass(frozen=True)
class Cell:
    condition: str
    # All None when the group is suppressed.
    counts: dict[str, int] | None
    percent: dict[str, float] | None
    at_stage_2_plus: float | None
    ranked_first: int | None
    top_three: int | None


@dataclass(frozen=True)
class Column:
    value: str
    label: str
    responses: int | None  # None when suppressed
    suppressed: bool
    cells: list[Cell]


@dataclass(frozen=True)
class Comparison:
    by: CompareBy
    filters: Filters
    min_group_size: int
    quiz_versions: list[str]
    conditions: list[tuple[str, str]]  # slug, name, in the framework's order
    columns: list[Column]


def month_label(value: str) -> str:
    """`2026-11` -> `Nov 2026`."""
    return date.fromisoformat(value + "-01").strftime("%b %Y")


def compare(
    session: Session,
    filters: Filters,
    by: CompareBy,
    min_group_size: int,
    names: Names,
    labels: dict[str, str] | None = None,
) -> Comparison:
    """Groups by `by` side by side; `labels` names the values (state or role codes); "" (not
    given) reads "Not given"."""
    agg = aggregate(session, filters, [by], min_group_size)
    seen = {c for g in agg.groups for c in g.conditions}
    slugs = [s for s in names.conditions if s in seen] + sorted(seen - set(names.conditions))
    columns = []
    for group in agg.groups:
        value = group.values[by]
        hidden = agg.suppressed(group)
        n = group.responses
        cells = []
        for slug in slugs:
            counts = group.conditions.get(slug)
            if hidden or counts is None:
                cells.append(Cell(slug, None, None, None, None, None))
                continue
            at = stage_counts(counts)
            cells.append(
                Cell(
                    slug,
                    at,
                    {s: percent(k, n) for s, k in at.items()},
                    percent(sum(at[s] for s in ADVANCED), n),
                    counts["ranked_first"],
                    counts["top_three"],
                )
            )
        if by == "month":
            label = month_label(value)
        else:
            label = (labels or {}).get(value, value) if value else "Not given"
        columns.append(Column(value, label, None if hidden else n, hidden, cells))
    return Comparison(
        by,
        filters,
        min_group_size,
        agg.quiz_versions,
        [(s, names.condition(s)) for s in slugs],
        columns,
    )
