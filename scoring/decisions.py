"""Decisions without a word of explanation: a stage per condition, and the ranking.

Each scoring version that ranks differently has its own `Ranking` here, chosen by the version
stored on a result (`ranking_for`), so an old result's ties are recomputed by its own rules. The
wording of every version lives in `scoring/explain.py`.

* Stage of a condition: the lowest stage among the answers about it that name a stage. A stage
  counts as reached only when every sign of it we ask about is in place. "I'm not sure" answers
  are set aside; if nothing else is known, the stage is unknown.
* Progress: answers pointing past the stage, and further steps within it. A question's first
  option (what a state with nothing answers) never counts as progress, and a question that
  cannot say "not yet started" (the district question on the vision) never places a condition on
  its own (both from scoring 3.0; 2.0's figures are stored on its results, never recomputed).
* Scoring 3.0 (`DependencyRanking`), docs/scoring.md: conditions ready for their next step first,
  then those whose next step waits on another condition ("first: X", or "first confirm X" when
  X's stage is unknown), then unknown stages (the result's "Check first" line; those that more
  of the state's next steps wait on first), then Statewide Transformation. Among the ready ones: the respondent's priorities, then what unlocks
  the most of the state's other next steps (a foundation), then lower stage, then more progress
  (momentum). What none of those separates is a tie, shown as equals: no fixed order of ours.
* Scoring 2.0 (`SequenceRanking`), first rule first: known stages below Statewide
  Transformation, lowest first, then unknown stages, then Statewide Transformation; at the same
  stage the respondent's priorities first; then less progress first; only then a suggested
  sequence, which is ours (data/framework.yaml, `suggested_sequence`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from quiz.framework import Dependency
from scoring.models import Evidence, OrderBasis, StageEstimate
from scoring.tables import Tables

TOP_STAGE = 3


# Standing and Placed are built twelve times a ranking, so they are not frozen (a frozen
# dataclass's __init__ costs four times as much; scoring/models.py). Nothing changes one once
# it is built.
@dataclass(slots=True)
class Standing:
    """What a ranking needs of one condition: where it stands and how much it was chosen."""

    slug: str
    stage: int | None
    progress: int = 0
    # How strongly it was chosen as a priority: 1 or 0 for one respondent, votes for a team.
    weight: int = 0


@dataclass(slots=True)
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
    # How many later steps of other conditions need more of this one (a weaker foundation).
    supports: int = 0
    # The respondent's priorities whose next step waits (directly or down a chain) on this
    # ready condition: it is ranked with them, "needed for your priority" (scoring 3.0).
    for_priority: list[str] = field(default_factory=list)


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
        # The lowest stage named, and whether an answer that can say "not yet started" named
        # one: an answer that cannot (the district question on the vision) does not place a
        # condition on its own. One pass: this runs twelve times a scoring.
        stage: int | None = None
        placing = False
        for e in found:
            if e.stage is not None:
                if stage is None or e.stage < stage:
                    stage = e.stage
                placing = placing or not e.partial
        if stage is None or not placing:
            estimates.append(StageEstimate(slug, None, "unsure", tuple(found)))
            continue
        # Signs beyond "just reached the stage": answers pointing past it, and answers at it
        # that name a further step within it.
        progress = 0
        for e in found:
            if e.stage is not None:
                progress += (0 if e.floor else 1) if e.stage > stage else e.progress
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


def _depths(waits: dict[str, list[str]]) -> dict[str, int]:
    """How long the chain of waiting conditions behind each waiting one is (1: it waits only on
    ready ones). The links cannot wait in a circle at consistent stages; a circle would stop."""
    found: dict[str, int] = {}

    def depth(slug: str, seen: frozenset[str]) -> int:
        if slug not in found:
            inner = [depth(w, seen | {slug}) for w in waits[slug] if w in waits and w not in seen]
            found[slug] = 1 + max(inner, default=0)
        return found[slug]

    for slug in waits:
        depth(slug, frozenset())
    return found


# Groups of scoring 3.0, in rank order.
READY, WAITING, UNKNOWN, SUSTAIN = 0, 1, 2, 3


def _needed_for_priorities(
    standings: list[Standing], waits: dict[str, list[str]], groups: dict[str, int]
) -> dict[str, list[tuple[str, int]]]:
    """For each ready condition, the chosen priorities (with their weight) whose next step
    waits on it, directly or through other waiting conditions."""
    found: dict[str, list[tuple[str, int]]] = {}
    for s in standings:
        if s.weight <= 0 or s.slug not in waits:
            continue
        seen: set[str] = set()
        todo = list(waits[s.slug])
        while todo:
            slug = todo.pop()
            if slug in seen:
                continue
            seen.add(slug)
            if groups.get(slug) == READY:
                found.setdefault(slug, []).append((s.slug, s.weight))
            todo.extend(waits.get(slug, []))
    return found


class DependencyRanking:
    """Scoring 3.0: readiness from the links between conditions (data/dependencies.yaml, our
    reading), the respondent's priorities, foundations, stage and momentum; ties left as ties."""

    def __init__(self, tables: Tables):
        self.links = tables.dependencies
        self.position = {slug: i for i, slug in enumerate(tables.conditions)}
        # The links by the condition that waits and by the one it needs, in file order, built
        # once: a ranking looks each condition's links up instead of reading all of them.
        self.links_of: dict[str, list[Dependency]] = {}
        self.links_to: dict[str, list[Dependency]] = {}
        self.links_between: dict[tuple[str, str], list[Dependency]] = {}
        for link in self.links:
            self.links_of.setdefault(link.condition, []).append(link)
            self.links_to.setdefault(link.needs, []).append(link)
            self.links_between.setdefault((link.condition, link.needs), []).append(link)

    def waits_for(self, s: Standing, stage_of: dict[str, int | None]) -> list[str]:
        """The conditions `s`'s next step waits on: below the stage the link needs, or unknown
        (then the advice is "first confirm" it)."""
        if s.stage is None or s.stage >= TOP_STAGE:
            return []
        waits: list[str] = []
        for link in self.links_of.get(s.slug, ()):
            if not link.from_stage <= s.stage + 1 <= link.to_stage:
                continue
            needed = stage_of.get(link.needs)
            if (needed is None or needed < link.needs_stage) and link.needs not in waits:
                waits.append(link.needs)
        return waits

    def unlocks(
        self, s: Standing, waits: dict[str, list[str]], stage_of: dict[str, int | None]
    ) -> list[str]:
        """The other conditions whose next step waits on `s` and that `s`'s next stage satisfies
        (for an unknown `s`: all that wait on it, which confirming its stage may release)."""
        if s.stage is None:
            return [other for other, waiting in waits.items() if s.slug in waiting]
        if s.stage >= TOP_STAGE:
            return []
        found = []
        for other, waiting in waits.items():
            if s.slug not in waiting:
                continue
            other_stage = stage_of[other]
            assert other_stage is not None  # only known stages wait
            if any(
                link.from_stage <= other_stage + 1 <= link.to_stage
                and s.stage + 1 >= link.needs_stage
                for link in self.links_between.get((other, s.slug), ())
            ):
                found.append(other)
        return found

    def supports(self, s: Standing, stage_of: dict[str, int | None]) -> int:
        """How many of the state's later steps, on other conditions, need more of `s` than it
        has: links whose stage the other condition has not passed yet and that `s` does not meet."""
        if s.stage is None or s.stage >= TOP_STAGE:
            return 0
        later = set()
        for link in self.links_to.get(s.slug, ()):
            other = stage_of.get(link.condition)
            if other is not None and other < link.from_stage and s.stage < link.needs_stage:
                later.add(link.condition)
        return len(later)

    @staticmethod
    def group(s: Standing, waiting: list[str]) -> int:
        if s.stage is None:
            # Unknown: confirming it is a check before the list ("Check first"), not a place to
            # begin; those waiting on it say "first confirm" it.
            return UNKNOWN
        if s.stage >= TOP_STAGE:
            return SUSTAIN
        return WAITING if waiting else READY

    def rank(self, standings: list[Standing]) -> list[Placed]:
        stage_of = {s.slug: s.stage for s in standings}
        waits = {s.slug: w for s in standings if (w := self.waits_for(s, stage_of))}
        unlocks = {s.slug: self.unlocks(s, waits, stage_of) for s in standings}
        groups = {s.slug: self.group(s, waits.get(s.slug, [])) for s in standings}
        supports = {s.slug: self.supports(s, stage_of) for s in standings}
        depth = _depths(waits)
        needed = _needed_for_priorities(standings, waits, groups)
        weight = {s.slug: s.weight for s in standings}
        for slug, lifting in needed.items():
            weight[slug] = max(weight[slug], *(w for _, w in lifting))

        def key(s: Standing) -> tuple[int, ...]:
            g = groups[s.slug]
            if g == READY:
                # A priority that waits lifts what it waits on: that comes first, with it.
                return (
                    g,
                    -weight[s.slug],
                    -len(unlocks[s.slug]),
                    s.stage or 0,
                    -s.progress,
                    -supports[s.slug],
                )
            if g == WAITING:
                # What it waits on comes first, even when only this one is a priority.
                return g, depth[s.slug], -s.weight, s.stage or 0, -s.progress
            if g == UNKNOWN:
                # The check that would release more of the state's next steps comes first.
                return g, -s.weight, -len(unlocks[s.slug])
            return g, -s.weight

        keys = {s.slug: key(s) for s in standings}
        ranked = sorted(standings, key=lambda s: (keys[s.slug], self.position[s.slug]))
        members: dict[int, list[str]] = {}
        for s in ranked:
            members.setdefault(groups[s.slug], []).append(s.slug)
        any_waiting = any(g == WAITING for g in groups.values())
        bases = {
            slug: found
            for g, group in members.items()
            if g != WAITING
            for slug, found in zip(
                group, self.bases(group, keys, any_waiting and g == READY), strict=True
            )
        }
        placed = []
        for rank, s in enumerate(ranked, start=1):
            if groups[s.slug] == WAITING:
                basis: OrderBasis = "dependency"
                tied: list[str] = list(waits[s.slug])
            else:
                basis, tied = bases[s.slug]
            placed.append(
                Placed(
                    s.slug,
                    rank,
                    basis,
                    tied,
                    waits.get(s.slug, []),
                    unlocks[s.slug],
                    supports[s.slug],
                    [p for p, _ in needed.get(s.slug, [])],
                )
            )
        return placed

    @staticmethod
    def bases(
        group: list[str], keys: dict[str, tuple[int, ...]], others_wait: bool
    ) -> list[tuple[OrderBasis, list[str]]]:
        """For each condition of one group (`group`, in rank order): the first part of its key
        on which it differs from every other condition of the group, and the ones it differs
        from there last; equal on all of them: a tie, with the equals.

        The group is sorted by key, so the conditions sharing the most of a condition's key
        stand next to it: the part that decides is the one after what it shares with its
        neighbours, and the conditions it is decided against are the run around it sharing as
        much (each condition is compared with its neighbours, not with the whole group)."""
        if len(group) == 1:
            return [(("dependency" if others_wait else "stage"), [])]
        # Key positions after the group: ready has (weight, unlocks, stage, progress, supports),
        # unknown (weight, unlocks), finished (weight).
        names: list[OrderBasis] = ["priority", "dependency", "stage", "progress", "dependency"]
        # shared[j]: how many parts, from the first, the keys of conditions j and j + 1 share.
        in_order = [keys[slug] for slug in group]
        # Padded with 0 at both ends, so that shared[j] and shared[j + 1] are what condition j
        # shares with the one before and the one after it.
        shared = [0, *map(_shared, in_order, in_order[1:]), 0]
        found: list[tuple[OrderBasis, list[str]]] = []
        for j in range(len(group)):
            most = max(shared[j], shared[j + 1])
            first, last = j, j
            while first > 0 and shared[first] >= most:
                first -= 1
            while last < len(group) - 1 and shared[last + 1] >= most:
                last += 1
            others = group[first:j] + group[j + 1 : last + 1]
            found.append(("tie" if most == len(in_order[j]) else names[most - 1], others))
        return found


def _shared(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """How many parts two keys share from their first."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


RANKINGS: dict[str, type[SequenceRanking] | type[DependencyRanking]] = {
    "2.0": SequenceRanking,
    "3.0": DependencyRanking,
}


def ranking_for(scoring_version: str, tables: Tables) -> Ranking:
    """The ranking rules of a scoring version (results of 1.0 are stored whole: never re-ranked)."""
    found = RANKINGS.get(scoring_version)
    if found is None:
        raise ValueError(f"no ranking rules for scoring version '{scoring_version}'")
    return found(tables)
