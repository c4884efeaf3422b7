"""Team mode: several members' results as one picture, and where they disagree.

The rules (docs/scoring.md, "Teams"):

* A condition's **team stage** is the median of the stages members placed it at, leaving out
  "not sure" and unanswered; with an even number, the lower of the two middle stages, so the team
  never claims more than half of its members see.
* **Disagreement**: members placed the condition at two or more different stages, or some
  placed it and others were not sure. The questions whose answers differed are listed.
* **How far apart** (`spread`): the mean distance in stages between two members' known stages,
  over every pair (0 when all agree; "not sure" left out). The **agenda** is the few conditions
  with the widest spread, widest first, then the one earlier in the team's ranking; for each,
  how the members' answers split per question (counts per option, never who) and the notes and
  links members gave (sorted, never who). The measure and the order are ours.
* The **team ranking** is the scorer's own ranking (`Scorer.ranking()`, the current scoring
  version's rules) run on the team stages, with the number of members who chose a condition as
  its priority weight.
* **Too few answers** (docs/privacy.md): a condition's counts, team stage, disagreement and place
  in the ranking use the answers of members in the order they joined, up to the member whose
  known answer completed the latest batch of `threshold` known answers ("not sure" is not one).
  Until the first batch, the condition says it has too few answers; afterwards its figures
  change only when `threshold` more known answers have arrived. Priority votes are counted the
  same way over members who chose any priority.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel

from quiz.framework import ConditionStage
from scoring.decisions import TOP_STAGE, Placed, Standing
from scoring.engine import Scorer
from scoring.models import OrderBasis

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Member:
    """One member's response, as much as the team needs: no name, no id."""

    stages: dict[str, int | None]
    answers: dict[str, str] = field(default_factory=dict)
    priorities: tuple[str, ...] = ()
    # The note and link given with an answer, by question id.
    evidence: dict[str, dict[str, str]] = field(default_factory=dict)


class TeamCondition(BaseModel):
    slug: str
    name: str
    # Members by stage: "0" to "3", and "unknown" (not sure or not answered). Null, like the
    # disagreement, when fewer than the threshold of members placed the state here.
    counts: dict[str, int] | None
    team_stage: int | None
    team_stage_name: str
    disagreement: bool | None
    # Questions on this condition that members answered differently.
    differing_questions: list[str]
    too_few_answers: bool = False
    # How far apart the members' stages are: the mean distance between two of them (null with
    # fewer than two known stages, or too few answers).
    spread: float | None = None


class OptionCount(BaseModel):
    option_id: str
    label: str
    members: int


class QuestionSplit(BaseModel):
    """How the members counted for a condition answered one of its questions."""

    question_id: str
    prompt: str
    options: list[OptionCount]


class EvidenceNote(BaseModel):
    note: str | None = None
    link: str | None = None


class AgendaItem(BaseModel):
    """A condition to talk about: where the members' answers are furthest apart."""

    # The suggested order to discuss (1 first): widest spread first (our order).
    order: int
    slug: str
    name: str
    spread: float
    team_stage: int | None
    team_stage_name: str
    # Members by stage, as in the condition's counts.
    counts: dict[str, int]
    questions: list[QuestionSplit]
    # Members' notes and links on this condition's questions, sorted: never who gave which.
    notes: list[EvidenceNote]


class TeamRecommendation(BaseModel):
    rank: int
    slug: str
    name: str
    team_stage: int | None
    team_stage_name: str
    # Null while fewer than the threshold of members chose priorities.
    priority_votes: int | None
    order_basis: OrderBasis
    tied_with: list[str]
    reasons: list[str]
    next_stage: ConditionStage | None


class TeamResult(BaseModel):
    members: int
    conditions: list[TeamCondition]
    recommendations: list[TeamRecommendation]
    agenda: list[AgendaItem] = []


def spread(stages: list[int | None]) -> float | None:
    """The mean distance in stages between two members' known stages, over every pair: 0 when
    all agree, 3 when half are at Not yet started and half at Statewide Transformation would be
    about 1.5 for many members. None with fewer than two known stages."""
    known = [s for s in stages if s is not None]
    pairs = len(known) * (len(known) - 1) // 2
    if pairs == 0:
        return None
    total = sum(abs(a - b) for i, a in enumerate(known) for b in known[i + 1 :])
    return round(total / pairs, 2)


def team_stage(stages: list[int | None]) -> int | None:
    known = sorted(s for s in stages if s is not None)
    if not known:
        return None
    return known[(len(known) - 1) // 2]


def disagreement(stages: list[int | None]) -> bool:
    known = {s for s in stages if s is not None}
    return len(known) >= 2 or (bool(known) and any(s is None for s in stages))


def released(known: list[bool], threshold: int) -> int:
    """How many members, in the order they joined, a figure covers: up to the one whose known
    answer completed the latest batch of `threshold` known answers (0: none completed yet).
    Members between two batches, known or not, count with the later one."""
    shown = held = 0
    for i, answered in enumerate(known, start=1):
        if answered:
            held += 1
            if held >= threshold:
                shown, held = i, 0
    return shown


TOO_FEW = "Too few answers"


def aggregate(
    scorer: Scorer, members: list[Member], top: int = 3, threshold: int = 1
) -> TeamResult:
    """`members` in the order they joined; `threshold` (TEAM_MIN_MEMBERS): the known answers a
    condition needs, and the batch its figures grow by."""
    conditions = [_condition(scorer, slug, members, threshold) for slug in scorer.conditions]
    voters = members[: released([bool(m.priorities) for m in members], threshold)]
    votes = Counter(p for m in voters for p in set(m.priorities))
    # The scorer's own ranking rules, on the team stages, with priority votes as the weight.
    standings = [Standing(c.slug, c.team_stage, 0, votes[c.slug]) for c in conditions]
    placed = scorer.ranking().rank(standings)
    by_slug = {c.slug: c for c in conditions}
    recommendations = [
        _recommendation(scorer, by_slug[p.slug], p, votes, shown=bool(voters)) for p in placed[:top]
    ]
    ranks = {p.slug: i for i, p in enumerate(placed)}
    return TeamResult(
        members=len(members),
        conditions=conditions,
        recommendations=recommendations,
        agenda=agenda(scorer, members, conditions, ranks, threshold),
    )


AGENDA_SIZE = 3


def agenda(
    scorer: Scorer,
    members: list[Member],
    conditions: list[TeamCondition],
    ranks: dict[str, int],
    threshold: int,
    size: int = AGENDA_SIZE,
) -> list[AgendaItem]:
    """The `size` conditions whose members are furthest apart (spread above 0), widest first,
    then earlier in the team's ranking. Only the members a condition's figures cover are used
    (the same release in batches as its counts); a question's split is shown only when at least
    `threshold` of them answered it."""
    apart = [c for c in conditions if c.spread and c.counts is not None]
    apart.sort(key=lambda c: (-(c.spread or 0.0), ranks[c.slug]))
    items = []
    for order, c in enumerate(apart[:size], start=1):
        counted = _counted(members, c.slug, threshold)
        questions = [q for q in scorer.quiz.questions if q.condition == c.slug]
        splits = []
        for q in questions:
            given = [m.answers[q.id] for m in counted if q.id in m.answers]
            if len(given) < threshold:
                continue
            tally = Counter(given)
            splits.append(
                QuestionSplit(
                    question_id=q.id,
                    prompt=q.prompt,
                    options=[
                        OptionCount(option_id=o.id, label=o.label, members=tally[o.id])
                        for o in q.options
                    ],
                )
            )
        notes = sorted(
            {
                (e.get("note") or "", e.get("link") or "")
                for m in counted
                for q in questions
                if (e := m.evidence.get(q.id))
            }
        )
        items.append(
            AgendaItem(
                order=order,
                slug=c.slug,
                name=c.name,
                spread=c.spread or 0.0,
                team_stage=c.team_stage,
                team_stage_name=c.team_stage_name,
                counts=c.counts or {},
                questions=splits,
                notes=[EvidenceNote(note=n or None, link=link or None) for n, link in notes],
            )
        )
    return items


def _counted(members: list[Member], slug: str, threshold: int) -> list[Member]:
    every = [m.stages.get(slug) for m in members]
    return members[: released([s is not None for s in every], threshold)]


def _condition(scorer: Scorer, slug: str, members: list[Member], threshold: int) -> TeamCondition:
    every = [m.stages.get(slug) for m in members]
    counted = _counted(members, slug, threshold)
    if not counted:
        return TeamCondition(
            slug=slug,
            name=scorer.conditions[slug].name,
            counts=None,
            team_stage=None,
            team_stage_name=TOO_FEW,
            disagreement=None,
            differing_questions=[],
            too_few_answers=True,
        )
    stages = every[: len(counted)]
    counts = {str(level): 0 for level in range(TOP_STAGE + 1)} | {UNKNOWN: 0}
    for stage in stages:
        counts[UNKNOWN if stage is None else str(stage)] += 1
    stage = team_stage(stages)
    questions = [q.id for q in scorer.quiz.questions if q.condition == slug]
    differing = [q for q in questions if len({m.answers[q] for m in counted if q in m.answers}) > 1]
    return TeamCondition(
        slug=slug,
        name=scorer.conditions[slug].name,
        counts=counts,
        team_stage=stage,
        team_stage_name=scorer.stage_names[stage],
        disagreement=disagreement(stages),
        differing_questions=differing,
        spread=spread(stages),
    )


def _recommendation(
    scorer: Scorer,
    c: TeamCondition,
    place: Placed,
    votes: Counter[str],
    shown: bool,
) -> TeamRecommendation:
    basis, tied = place.basis, place.tied_with
    reasons = []
    if c.counts is None or c.team_stage is None:
        reasons.append(
            f"Too few members placed your state on {c.name} to show their answers: confirm "
            "where it stands together first."
        )
    else:
        known = sum(c.counts.values()) - c.counts[UNKNOWN]
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
    elif basis == "dependency" and place.waits_for:
        reasons.append(
            f"First: {names}. Its next step builds on {'it' if len(tied) == 1 else 'them'} "
            "(our reading of the framework's stage goals, not its order)."
        )
    elif basis == "dependency":
        reasons.append(
            "Ready for its next step, and more of the team's other steps build on it than on "
            f"{names} (links of our reading)."
        )
    elif basis == "tie":
        reasons.append(
            f"Nothing in the members' answers or priorities separates it from {names}: they "
            "are equals, listed in the framework's order."
        )
    next_level = 1 if c.team_stage is None else c.team_stage + 1
    return TeamRecommendation(
        rank=place.rank,
        slug=c.slug,
        name=c.name,
        team_stage=c.team_stage,
        team_stage_name=c.team_stage_name,
        priority_votes=votes[c.slug] if shown else None,
        order_basis=basis,
        tied_with=tied,
        reasons=reasons,
        next_stage=scorer.stages.get((c.slug, next_level)),
    )
