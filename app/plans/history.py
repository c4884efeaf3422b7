"""Check-ins over time: the stages of a plan's conditions at each check-in, as a small chart the
server draws (SVG, no JavaScript), and what changed since the check-in before.

A check-in is a response taken again from the plan ("Check in again" opens the quiz with the
latest answers): it is stored as any response is, its `based_on` pointing at the response it
started from (as a what-if saved as a new response does), and `plan_check_ins` ties it to the
plan. Each stored result stays as it was; the chart only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from app.plans.plans import PlanPublic
from app.responses.results import StoredResult
from scoring import Result
from scoring.changes import ConditionChange, changes

# The chart's drawing box, in SVG user units (scaled to the column by CSS).
WIDTH, HEIGHT = 340, 120
LEFT, RIGHT, TOP, BOTTOM = 132, 14, 10, 22


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    stage: int | None
    label: str  # "3 Dec 2026: Replication"


@dataclass(frozen=True)
class ConditionChart:
    condition: str
    name: str
    # Points with a known stage, joined by a line; unknown stages are drawn as a hollow mark
    # at the bottom and named in the table.
    points: list[Point]
    line: str  # the polyline's points attribute
    summary: str  # one sentence for screen readers: the chart's whole content


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int  # where the plot starts: the stage names are right-aligned before it
    # (y, stage name) for each gridline, bottom to top.
    levels: list[tuple[float, str]]
    # (x, date) under each check-in.
    dates: list[tuple[float, str]]
    conditions: list[ConditionChart]


def _y(stage: int | None) -> float:
    level = stage if stage is not None else 0
    return TOP + (HEIGHT - TOP - BOTTOM) * (3 - level) / 3


def _x(index: int, count: int) -> float:
    if count == 1:
        return LEFT + (WIDTH - LEFT - RIGHT) / 2
    return LEFT + (WIDTH - LEFT - RIGHT) * index / (count - 1)


def chart(plan: PlanPublic, stage_names: dict[int | None, str]) -> Chart:
    """One small chart per planned condition: the stage at each check-in, oldest at the left."""
    count = len(plan.history)
    dates = [(_x(i, count), h.created_at.strftime("%-d %b %Y")) for i, h in enumerate(plan.history)]
    drawn = []
    for condition in plan.conditions:
        points = []
        for i, check_in in enumerate(plan.history):
            stage = check_in.stages.get(condition.condition)
            when = check_in.created_at.strftime("%-d %b %Y")
            points.append(Point(_x(i, count), _y(stage), stage, f"{when}: {stage_names[stage]}"))
        line = " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points if p.stage is not None)
        said = "; ".join(p.label for p in points)
        drawn.append(
            ConditionChart(
                condition.condition,
                condition.name,
                points,
                line,
                f"{condition.name}, stage at each check-in: {said}.",
            )
        )
    levels = [(_y(level), stage_names[level]) for level in range(4)]
    return Chart(WIDTH, HEIGHT, LEFT, levels, dates, drawn)


def since_last_time(
    before: StoredResult | None, newest: StoredResult, planned: list[str]
) -> list[ConditionChange] | None:
    """The what-if comparison (scoring/changes.py) of the newest check-in with the one before:
    the planned conditions first, then any other whose stage changed. None without a check-in
    yet, or when a result cannot be compared (one stored under a shape scoring no longer reads)."""
    if before is None:
        return None
    try:
        found = changes(before, Result.model_validate(newest))
    except ValidationError:
        return None
    first = [c for c in found if c.slug in planned]
    first.sort(key=lambda c: planned.index(c.slug))
    others = [
        c for c in found if c.slug not in planned and c.stage_name_before != c.stage_name_after
    ]
    return first + others
