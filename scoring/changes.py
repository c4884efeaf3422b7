"""What-if: how a new result differs from an earlier one, condition by condition.

Pure and shape-tolerant: the earlier result is read as stored (a dict, possibly from an older
quiz or scoring version), matched to the new one by condition slug.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from scoring.models import Result

Moved = Literal["up", "down", "same", "new"]


class ConditionChange(BaseModel):
    slug: str
    name: str
    stage_before: int | None
    stage_after: int | None
    stage_name_before: str
    stage_name_after: str
    rank_before: int | None
    rank_after: int
    # "up" means nearer the top of the list (a smaller rank number); "new": not in the earlier one.
    moved: Moved
    summary: str


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def changes(before: dict[str, Any], after: Result) -> list[ConditionChange]:
    """One entry per condition of `after`, in its ranking order."""
    earlier = {c["slug"]: c for c in before.get("conditions", [])}
    found = []
    for c in sorted(after.conditions, key=lambda c: c.rank):
        was = earlier.get(c.slug)
        rank_before = was.get("rank") if was else None
        if rank_before is None:
            moved: Moved = "new"
        elif c.rank < rank_before:
            moved = "up"
        elif c.rank > rank_before:
            moved = "down"
        else:
            moved = "same"
        found.append(
            ConditionChange(
                slug=c.slug,
                name=c.name,
                stage_before=was.get("stage") if was else None,
                stage_after=c.stage,
                stage_name_before=was.get("stage_name", "Unknown") if was else "Unknown",
                stage_name_after=c.stage_name,
                rank_before=rank_before,
                rank_after=c.rank,
                moved=moved,
                summary=_summary(c.name, was, c.stage_name, c.rank, moved),
            )
        )
    return found


def _summary(
    name: str, was: dict[str, Any] | None, stage_name: str, rank: int, moved: Moved
) -> str:
    if was is None:
        return f"{name} is {ordinal(rank)}; it was not in the earlier result."
    parts = []
    if moved == "same":
        parts.append(f"{name} stays {ordinal(rank)}")
    else:
        parts.append(f"{name} moved from {ordinal(was['rank'])} to {ordinal(rank)}")
    before_stage = was.get("stage_name", "Unknown")
    if before_stage != stage_name:
        parts.append(f"its stage from {before_stage} to {stage_name}")
    return ", ".join(parts) + "."


def headline(found: list[ConditionChange]) -> str:
    """One sentence for a screen reader's live region: the biggest moves first."""
    moved = sorted(
        (c for c in found if c.moved in ("up", "down")),
        key=lambda c: -abs((c.rank_before or 0) - c.rank_after),
    )
    if not moved:
        stage_changes = [c for c in found if c.stage_name_before != c.stage_name_after]
        if not stage_changes:
            return "Nothing changes in the ranking."
        return " ".join(c.summary for c in stage_changes[:2])
    return " ".join(c.summary for c in moved[:2])
