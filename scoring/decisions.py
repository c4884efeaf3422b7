"""Decisions without a word of explanation: a stage per condition, and the ranking.

Each scoring version that ranks differently has its own `Ranking` here, chosen by the version
stored on a result (`ranking_for`), so an old result's ties are recomputed by its own rules. The
wording of every version lives in `scoring/explain.py`.

* Stage of a condition: the lowest stage among the answers about it that name a stage. A stage
  counts as reached only when every sign of it we ask about is in place. "I'm not sure" answers
  are set aside; if nothing else is known, the stage is unknown.
* Scoring 2.0 (`SequenceRanking`), first rule first: known stages below Statewide
  Transformation, lowest first, then unknown stages, then Statewide Transformation; at the same
  stage the respondent's priorities first; then less progress first; only then a suggested
  sequence, which is ours (data/framework.yaml, `suggested_sequence`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from scoring.models import Evidence, OrderBasis, StageEstimate
from scoring.tables import Tables

TOP_STAGE = 3


@dataclass(frozen=True, slots=True)
class Standing:
    """What a ranking needs of one condition: where it stands and how much it was chosen."""

    slug: str
    stage: int | None
    progress: int = 0
    # How strongly it was chosen as a priority: 1 or 0 for one respondent, votes for a team.
    weight: int = 0


@dataclass(frozen=True, slots=True)
class Placed:
    """A condition's place: its rank, the rule that placed it and the conditions that rule
    ruled on (for a condition waiting on others, `waits_for` names them)."""

    slug: str
    rank: int
    basis: OrderBasis
    tied_with: list[str]
    waits_for: list[str] = field(default_factory=list)
    # The other conditions whose next step this one's next step would unblock.
    unlocks: list[str] = field(default_factory=list)


class Ranking(Protocol):
    def rank(self, standings: list[Standing]) -> list[Placed]:
        """All conditions, in the order a state should tackle them."""
        ...


def estimate(slugs: Iterable[str], evidence: dict[str, list[Evidence]]) -> list[StageEstimate]:
    """One estimate per condition, in the order of `slugs`."""
    estimates = []
    for slug in slugs:
        found = evidence.get(slug)
        if found is None:
            estimates.append(StageEstimate(slug, None, "unanswered"))
            continue
        known = [e.stage for e in found if e.stage is not None]
        if not known:
            estimates.append(StageEstimate(slug, None, "unsure", tuple(found)))
            continue
        stage = min(known)
        # Signs beyond "just reached the stage": answers pointing past it, and answers at it
        # that name a further step within it.
        progress = sum(1 if e.stage > stage else e.progress for e in found if e.stage is not None)
        estimates.append(StageEstimate(slug, stage, "answered", tuple(found), progress))
    return estimates


def stage_group(stage: int | None) -> tuple[int, int]:
    """(group, stage): known gaps (0), unknown (1), Statewide Transformation (2)."""
    if stage is None:
        return 1, 0
    if stage >= TOP_STAGE:
        return 2, stage
    return 0, stage


class SequenceRanking:
    """Scoring 2.0: stage, then priority, then less progress, then our suggested sequence."""

    def __init__(self, tables: Tables):
        self.sequence = tables.sequence

    def key(self, s: Standing) -> tuple[int, int, int, int, int]:
        group, stage = stage_group(s.stage)
        return group, stage, -s.weight, s.progress, self.sequence[s.slug]

    def rank(self, standings: list[Standing]) -> list[Placed]:
        ranked = sorted(standings, key=self.key)
        peers: dict[tuple[int, int], list[Standing]] = {}
        for s in ranked:
            peers.setdefault(stage_group(s.stage), []).append(s)
        placed = []
        for rank, s in enumerate(ranked, start=1):
            basis, tied_with = self.basis(s, peers[stage_group(s.stage)])
            placed.append(Placed(s.slug, rank, basis, tied_with))
        return placed

    @staticmethod
    def basis(s: Standing, peers: list[Standing]) -> tuple[OrderBasis, list[str]]:
        """Which rule separates `s` from the others at its stage (`peers`), and from which.

        The first tie-breaker on which it differs from every remaining peer decides: alone at
        its stage -> "stage"; alone in its priority weight -> "priority"; alone in its progress
        among those -> "progress"; otherwise the suggested sequence."""
        others = [p for p in peers if p.slug != s.slug]
        if not others:
            return "stage", []
        same_priority = [p for p in others if p.weight == s.weight]
        if not same_priority:
            return "priority", [p.slug for p in others]
        same_progress = [p for p in same_priority if p.progress == s.progress]
        if not same_progress:
            return "progress", [p.slug for p in same_priority]
        return "sequence", [p.slug for p in same_progress]


RANKINGS: dict[str, type[SequenceRanking]] = {"2.0": SequenceRanking}


def ranking_for(scoring_version: str, tables: Tables) -> Ranking:
    """The ranking rules of a scoring version (results of 1.0 are stored whole: never re-ranked)."""
    found = RANKINGS.get(scoring_version)
    if found is None:
        raise ValueError(f"no ranking rules for scoring version '{scoring_version}'")
    return found(tables)
