"""Team mode: several members' results as one picture, and where they disagree.

The rules (docs/scoring.md, "Teams"):

* A condition's **team stage** is the median of the stages members placed it at, leaving out
  "not sure" and unanswered; with an even number, the lower of the two middle stages, so the team
  never claims more than half of its members see.
* **Disagreement** ("talk about this first"): members placed the condition at two or more
  different stages, or some placed it and others were not sure. The questions whose answers
  differed between members are listed.
* The **team ranking** uses the scorer's rules on the team stages: known stages lowest first,
  then unknown, then Statewide Transformation; at the same stage, conditions more members chose as
  a priority first; then our suggested sequence (labelled ours).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel

from quiz.framework import ConditionStage
from scoring.engine import TOP_STAGE, Scorer
from scoring.models import OrderBasis

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Member:
    """One member's response, as much as the team needs: no name, no id."""

    stages: dict[str, int | None]
    answers: dict[str, str] = field(default_factory=dict)
    priorities: tuple[str, ...] = ()


class TeamCondition(BaseModel):
    slug: str
    name: str
    # Members by stage: "0" to "3", and "unknown" (not sure or not answered).
    counts: dict[str, int]
    team_stage: int | None
    team_stage_name: str
    disagreement: bool
    # Questions on this condition that members answered differently.
    differing_questions: list[str]


class TeamRecommendation(BaseModel):
    rank: int
    slug: str
    name: str
    team_stage: int | None
    team_stage_name: str
    priority_votes: int
    order_basis: OrderBasis
    tied_with: list[str]
    reasons: list[str]
    next_stage: ConditionStage | None


class TeamResult(BaseModel):
    members: int
    conditions: list[TeamCondition]
    recommendations: list[TeamRecommendation]


def team_stage(stages: list[int | None]) -> int | None:
    known = sorted(s for s in stages if s is not None)
    if not known:
        return None
    return known[(len(known) - 1) // 2]


def disagreement(stages: list[int | None]) -> bool:
    known = {s for s in stages if s is not None}
    return len(known) >= 2 or (bool(known) and any(s is None for s in stages))


def aggregate(scorer: Scorer, members: list[Member], top: int = 3) -> TeamResult:
    conditions = [_condition(scorer, slug, members) for slug in scorer.conditions]
    votes = Counter(p for m in members for p in set(m.priorities))
    ranked = sorted(conditions, key=lambda c: _key(scorer, c, votes))
    recommendations = [
        _recommendation(scorer, c, rank, ranked, votes, len(members))
        for rank, c in enumerate(ranked[:top], start=1)
    ]
    return TeamResult(members=len(members), conditions=conditions, recommendations=recommendations)


def _condition(scorer: Scorer, slug: str, members: list[Member]) -> TeamCondition:
    stages = [m.stages.get(slug) for m in members]
    counts = {str(level): 0 for level in range(TOP_STAGE + 1)} | {UNKNOWN: 0}
    for stage in stages:
        counts[UNKNOWN if stage is None else str(stage)] += 1
    stage = team_stage(stages)
    questions = [q.id for q in scorer.quiz.questions if q.condition == slug]
    differing = [q for q in questions if len({m.answers[q] for m in members if q in m.answers}) > 1]
    return TeamCondition(
        slug=slug,
        name=scorer.conditions[slug].name,
        counts=counts,
        team_stage=stage,
        team_stage_name=scorer.stage_names[stage],
        disagreement=disagreement(stages),
        differing_questions=differing,
    )


def _group(c: TeamCondition) -> tuple[int, int]:
    if c.team_stage is None:
        return 1, 0
    return (2, c.team_stage) if c.team_stage >= TOP_STAGE else (0, c.team_stage)


def _key(scorer: Scorer, c: TeamCondition, votes: Counter[str]) -> tuple[int, int, int, int]:
    group, stage = _group(c)
    return group, stage, -votes[c.slug], scorer.sequence[c.slug]


def _basis(
    c: TeamCondition, ranked: list[TeamCondition], votes: Counter[str]
) -> tuple[OrderBasis, list[str]]:
    peers = [p for p in ranked if _group(p) == _group(c) and p.slug != c.slug]
    if not peers:
        return "stage", []
    same_votes = [p.slug for p in peers if votes[p.slug] == votes[c.slug]]
    if not same_votes:
        return "priority", [p.slug for p in peers]
    return "sequence", same_votes


def _recommendation(
    scorer: Scorer,
    c: TeamCondition,
    rank: int,
    ranked: list[TeamCondition],
    votes: Counter[str],
    members: int,
) -> TeamRecommendation:
    basis, tied = _basis(c, ranked, votes)
    known = members - c.counts[UNKNOWN]
    reasons = []
    if c.team_stage is None:
        reasons.append(
            f"No member placed your state on {c.name}: confirm where it stands together first."
        )
    else:
        reasons.append(
            f"The team's stage is {c.team_stage_name}, the middle of the {known} "
            f"{'answer' if known == 1 else 'answers'} that placed it."
        )
    if c.disagreement:
        reasons.append("Members disagree about where the state stands here: talk about it first.")
    names = ", ".join(scorer.conditions[s].name for s in tied)
    if basis == "priority":
        reasons.append(
            f"{votes[c.slug]} {'member' if votes[c.slug] == 1 else 'members'} chose it as a "
            f"priority, which orders it among the conditions at the same stage ({names})."
        )
    elif basis == "sequence":
        reasons.append(
            f"It shares its place with {names}, and the members' priorities do not separate "
            "them, so we ordered them by a suggested sequence of our own (the framework sets no "
            f"order). {scorer.sequence_basis[c.slug]}"
        )
    next_level = 1 if c.team_stage is None else c.team_stage + 1
    return TeamRecommendation(
        rank=rank,
        slug=c.slug,
        name=c.name,
        team_stage=c.team_stage,
        team_stage_name=c.team_stage_name,
        priority_votes=votes[c.slug],
        order_basis=basis,
        tied_with=tied,
        reasons=reasons,
        next_stage=scorer.stages.get((c.slug, next_level)),
    )
