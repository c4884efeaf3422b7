"""The wording of results, one explainer per scoring version.

A stored result keeps only what scoring decided (`Computed`); its sentences are rebuilt by the
explainer of the scoring version stored on it (`explainer_for`). A new scoring version that
words anything differently gets its own explainer (usually a subclass overriding only what it
rewords), so results of older versions keep reading exactly as they did.
"""

from __future__ import annotations

from typing import ClassVar

from quiz.framework import Commitment
from scoring.decisions import TOP_STAGE, Placed
from scoring.models import Focus, Headline, OrderBasis, Result, StageEstimate
from scoring.tables import Piece, Tables

BEGIN_HERE = 3
# Answers this many stages apart about one condition are reported as a contradiction.
CONTRADICTION_GAP = 2


def quote(text: str) -> str:
    return f"\u201c{text.rstrip('.')}\u201d"


def names(listed: list[str]) -> str:
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + " and " + listed[-1]


def focus(stage: int | None) -> Focus:
    if stage is None:
        return "confirm"
    return "sustain" if stage >= TOP_STAGE else "advance"


class Explainer:
    """Scoring 2.0's wording; later versions subclass it and override what they reword."""

    version: ClassVar[str] = "2.0"

    def __init__(self, tables: Tables):
        self.t = tables
        # Commitments depend only on which conditions are in "Begin here": a few dozen lists.
        self._commitments: dict[tuple[str, ...], list[Piece]] = {}

    def explain(
        self,
        estimates: list[StageEstimate],
        placed: dict[str, Placed],
        chosen: list[str],
        quiz_version: str,
        state: str | None,
        top: int | None,
    ) -> Result:
        """The whole result: `estimates` in listing order, `placed` by slug; `top` limits the
        recommendations (all by default)."""
        priorities = set(chosen)
        ranked = sorted(estimates, key=lambda e: placed[e.slug].rank)
        shown = ranked[: max(1, min(top or len(ranked), len(ranked)))]
        recommendations = [
            self.recommendation(e, placed[e.slug], ranked, placed, priorities, state) for e in shown
        ]
        begin_here = self.begin_here(ranked)
        # One validation of the whole tree: the pieces are plain dicts (pydantic's fastest path).
        return Result.model_validate(
            {
                "quiz_version": quiz_version,
                "scoring_version": self.version,
                "priorities": list(chosen),
                "conditions": [self.status(e, placed[e.slug].rank, priorities) for e in estimates],
                "recommendations": recommendations,
                "begin_here": [e.slug for e in begin_here],
                "headline": self.headline(begin_here),
                "tie_note": self.tie_note(ranked, placed, priorities),
                "contradictions": [c for e in estimates if (c := self.contradiction(e))],
                "commitments": self.commitments_for(begin_here),
                "notes": list(self.t.framework.notes),
            }
        )

    # --- pieces of the result ---------------------------------------------------------------

    def status(self, estimate: StageEstimate, rank: int, priorities: set[str]) -> Piece:
        return {
            **self.t.status_base[estimate.slug],
            "stage": estimate.stage,
            "stage_name": self.t.stage_names[estimate.stage],
            "confidence": estimate.confidence,
            "rank": rank,
            "prioritized": estimate.slug in priorities,
        }

    def commitments_for(self, begin_here: list[StageEstimate]) -> list[Piece]:
        key = tuple(sorted(e.slug for e in begin_here))
        found = self._commitments.get(key)
        if found is None:
            shown = set(key)
            found = [self.commitment(c, shown) for c in self.t.framework.commitments]
            self._commitments[key] = found
        return found

    def recommendation(
        self,
        estimate: StageEstimate,
        place: Placed,
        ranked: list[StageEstimate],
        placed: dict[str, Placed],
        priorities: set[str],
        state: str | None,
    ) -> Piece:
        condition = self.t.conditions[estimate.slug]
        next_level = 1 if estimate.stage is None else estimate.stage + 1
        adopter = condition.early_adopter
        return {
            "rank": place.rank,
            "slug": condition.slug,
            "name": condition.name,
            "strategy": condition.strategy,
            "current_stage": estimate.stage,
            "current_stage_name": self.t.stage_names[estimate.stage],
            "confidence": estimate.confidence,
            "focus": focus(estimate.stage),
            "prioritized": condition.slug in priorities,
            "order_basis": place.basis,
            "tied_with": place.tied_with,
            "next_stage": self.t.stages.get((condition.slug, next_level)),
            "current_stage_detail": self.t.stages.get((condition.slug, TOP_STAGE))
            if estimate.stage == TOP_STAGE
            else None,
            "reasons": self.reasons(estimate, ranked, place, placed, priorities),
            "early_adopter": adopter,
            "early_adopter_note": condition.early_adopter_note,
            "early_adopter_is_respondent_state": adopter is not None and adopter.state == state,
            "source_url": condition.source_url,
        }

    def begin_here(self, ranked: list[StageEstimate]) -> list[StageEstimate]:
        """Conditions with a next step; finished ones only when nothing else is left."""
        open_ = [e for e in ranked if focus(e.stage) != "sustain"]
        return (open_ or ranked)[:BEGIN_HERE]

    def headline(self, begin_here: list[StageEstimate]) -> Headline:
        focuses = {focus(e.stage) for e in begin_here}
        if focuses == {"sustain"}:
            return "keep-going"
        if focuses == {"confirm"}:
            return "confirm"
        return "begin"

    def tie_note(
        self, ranked: list[StageEstimate], placed: dict[str, Placed], priorities: set[str]
    ) -> str | None:
        first = placed[ranked[0].slug]
        if first.basis != "sequence":
            return None
        listed = names([self.t.conditions[s].name for s in [first.slug, *first.tied_with]])
        return (
            f"Your answers put {listed} in the same position, and nothing in them decides which "
            "comes first. We ordered them by a suggested sequence of our own, adapted from a "
            "Getting Smart article; the framework itself sets no order. Choose your priorities "
            "to put them in your own order."
        )

    def contradiction(self, estimate: StageEstimate) -> Piece | None:
        if len(estimate.evidence) < 2:
            return None
        known = [e for e in estimate.evidence if e.stage is not None]
        stages = [e.stage for e in known if e.stage is not None]
        if not stages or max(stages) - min(stages) < CONTRADICTION_GAP:
            return None
        name = self.t.conditions[estimate.slug].name
        answers = [
            {
                "question_id": e.question_id,
                "prompt": e.prompt,
                "label": e.label,
                "stage": e.stage,
                "stage_name": self.t.stage_names[e.stage],
            }
            for e in known
            if e.stage is not None
        ]
        listed = "; ".join(f"{quote(e.label)} ({self.t.stage_names[e.stage]})" for e in known)
        return {
            "slug": estimate.slug,
            "name": name,
            "answers": answers,
            "message": f"Your answers about {name} point to different stages: {listed}. We "
            "used the lower one. Check with a colleague which is right.",
        }

    def commitment(self, commitment: Commitment, shown: set[str]) -> Piece:
        return {
            "slug": commitment.slug,
            "name": commitment.name,
            "summary": commitment.summary,
            "related_recommendations": [
                {"slug": rc.slug, "name": self.t.conditions[rc.slug].name, "basis": rc.basis}
                for rc in commitment.related_conditions
                if rc.slug in shown
            ],
        }

    # --- reasons ----------------------------------------------------------------------------

    def reasons(
        self,
        estimate: StageEstimate,
        ranked: list[StageEstimate],
        place: Placed,
        placed: dict[str, Placed],
        priorities: set[str],
    ) -> list[str]:
        """Plain sentences: which answers produced the stage, and why the condition ranks here."""
        reasons = self.stage_reasons(estimate)
        reasons.append(self.position_reason(estimate, ranked))
        if place.basis != "stage":
            reasons.append(self.tie_reason(estimate, place.basis, place.tied_with, priorities))
        return reasons

    def stage_reasons(self, estimate: StageEstimate) -> list[str]:
        name = self.t.conditions[estimate.slug].name
        if estimate.confidence == "unsure":
            return [
                f"You were not sure where your state stands on {name}. Confirm where it stands: "
                "the first-stage goal below is the milestone to check against."
            ]
        if estimate.confidence == "unanswered":
            return [
                f"You did not answer the question on {name}. Confirm where your state stands: "
                "the first-stage goal below is the milestone to check against."
            ]
        stage_name = self.t.stage_names[estimate.stage]
        reasons = [
            f"You told us {quote(e.label)} when asked {quote(e.prompt)}, so your state "
            f"is at {stage_name} ({estimate.stage} of 3) in {name}."
            for e in estimate.evidence
            if e.stage == estimate.stage
        ]
        current = estimate.stage if estimate.stage is not None else 0
        higher = [e for e in estimate.evidence if e.stage is not None and e.stage > current]
        if higher:
            reasons.append(
                f"Another answer points further along ({quote(higher[0].label)}), but a stage "
                "counts as reached only when every sign of it is in place."
            )
        if any(e.stage is None for e in estimate.evidence):
            reasons.append(
                "You were not sure about one question on this condition; it was set aside."
            )
        return reasons

    def position_reason(self, estimate: StageEstimate, ranked: list[StageEstimate]) -> str:
        known_gaps = [e.stage for e in ranked if e.stage is not None and e.stage < TOP_STAGE]
        if estimate.stage is None:
            if known_gaps:
                return (
                    "Conditions you placed below Statewide Transformation come first; this one "
                    "follows them because its stage is not known yet."
                )
            return (
                "You placed no condition below Statewide Transformation, so confirming where "
                "your state stands on the unknown ones comes first."
            )
        if estimate.stage >= TOP_STAGE:
            return (
                "Your state has reached Statewide Transformation here, so there is no next stage: "
                "sustain this work and keep improving it."
            )
        if estimate.stage == min(known_gaps):
            return (
                "Conditions where your state is earliest come first, and this is one of them "
                f"({self.t.stage_names[estimate.stage]})."
            )
        return "Conditions at an earlier stage come first; this one follows them."

    def tie_reason(
        self, estimate: StageEstimate, basis: OrderBasis, tied_with: list[str], priorities: set[str]
    ) -> str:
        others = names([self.t.conditions[s].name for s in tied_with])
        verb = "is" if len(tied_with) == 1 else "are"
        if basis == "priority":
            if estimate.slug in priorities:
                return f"You chose it as a priority, so it comes before {others}, which {verb} at the same stage."
            return f"{others} {verb} at the same stage and among your priorities, so {'it comes' if len(tied_with) == 1 else 'they come'} first."
        if basis == "progress":
            if estimate.progress == 0:
                return (
                    f"{others} {verb} at the same stage, but your answers there show a further "
                    "step already taken; here you have just reached the stage, so this one "
                    "comes first."
                )
            return (
                f"{others} {verb} at the same stage with no further step taken yet, while your "
                "answers here show one, so this one follows."
            )
        return (
            f"{others} {verb} in the same position, and nothing in your answers or priorities "
            "separates them, so we ordered them by a suggested sequence of our own (the "
            f"framework sets no order). {self.t.sequence_basis[estimate.slug]}"
        )


EXPLAINERS: dict[str, type[Explainer]] = {"2.0": Explainer}


def explainer_class(scoring_version: str) -> type[Explainer]:
    """The wording of a scoring version (results of 1.0 are stored whole: never re-explained)."""
    found = EXPLAINERS.get(scoring_version)
    if found is None:
        raise ValueError(f"no explanation wording for scoring version '{scoring_version}'")
    return found
