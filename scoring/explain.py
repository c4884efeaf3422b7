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
from scoring.models import Evidence, Focus, Headline, OrderBasis, Result, StageEstimate
from scoring.tables import Piece, Tables

BEGIN_HERE = 3
# What a condition's stage sentences depend on: its slug, stage, confidence and evidence.
StageKey = tuple[str, int | None, str, tuple[Evidence, ...]]
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
        # The sentences saying which answers placed a condition depend on those answers alone:
        # a few dozen combinations a condition, each worded once.
        self._stage_sentences: dict[StageKey, list[str]] = {}

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
        return Result.model_validate(
            self.explained(estimates, placed, chosen, quiz_version, state, top)
        )

    def explained(
        self,
        estimates: list[StageEstimate],
        placed: dict[str, Placed],
        chosen: list[str],
        quiz_version: str,
        state: str | None,
        top: int | None,
    ) -> Piece:
        """The whole result as JSON values, exactly what `Result.model_dump(mode="json")` of
        `explain` gives, field for field and in its order (tests/scoring/test_explained.py
        proves it): what a submission stores, caches and answers, with no model validated and
        dumped again on the way. Nested pieces of content are shared: never change one."""
        priorities = set(chosen)
        ranked = sorted(estimates, key=lambda e: placed[e.slug].rank)
        shown = ranked[: max(1, min(top or len(ranked), len(ranked)))]
        recommendations = [
            self.recommendation(e, placed[e.slug], ranked, placed, priorities, state) for e in shown
        ]
        begin_here = self.begin_here(ranked)
        return {
            "quiz_version": quiz_version,
            "scoring_version": self.version,
            "priorities": list(chosen),
            "conditions": [self.status(e, placed[e.slug].rank, priorities) for e in estimates],
            "recommendations": recommendations,
            "begin_here": [e.slug for e in begin_here],
            "headline": self.headline(begin_here),
            "tie_note": self.tie_note(ranked, placed, priorities),
            **self.extras(ranked, placed, begin_here),
            "contradictions": [c for e in estimates if (c := self.contradiction(e))],
            "commitments": self.commitments_for(begin_here),
            "notes": list(self.t.framework.notes),
        }

    # --- pieces of the result ---------------------------------------------------------------

    def extras(
        self, ranked: list[StageEstimate], placed: dict[str, Placed], begin: list[StageEstimate]
    ) -> Piece:
        """Fields a later version adds to the result (none in 2.0: its results never had them)."""
        return {}

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
            "next_stage": self.t.stages_json.get((condition.slug, next_level)),
            "current_stage_detail": self.t.stages_json.get((condition.slug, TOP_STAGE))
            if estimate.stage == TOP_STAGE
            else None,
            "reasons": self.reasons(estimate, ranked, place, placed, priorities),
            "early_adopter": self.t.early_adopters_json[condition.slug],
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
                {
                    "slug": rc.slug,
                    "name": self.t.conditions[rc.slug].name,
                    "basis": rc.basis,
                    "provenance": "inferred",
                }
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
        reasons = self.stage_sentences(estimate)
        reasons.append(self.position_reason(estimate, ranked))
        if place.basis != "stage":
            reasons.append(self.tie_reason(estimate, place.basis, place.tied_with, priorities))
        return reasons

    def stage_sentences(self, estimate: StageEstimate) -> list[str]:
        """`stage_reasons`, worded once for each set of answers (a new list each time)."""
        key = (estimate.slug, estimate.stage, estimate.confidence, estimate.evidence)
        found = self._stage_sentences.get(key)
        if found is None:
            found = self._stage_sentences[key] = self.stage_reasons(estimate)
        return list(found)

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


class Explainer3(Explainer):
    """Scoring 3.0: the ranking follows readiness, foundations, priorities and momentum, and
    says which; links between conditions and the stage mapping are labelled ours."""

    version: ClassVar[str] = "3.0"

    def __init__(self, tables: Tables):
        super().__init__(tables)
        self.links = {(d.condition, d.needs): d for d in tables.dependencies}
        # What each question measures, for those that share it with another question.
        self.measures = {
            q.id: q.measures for q in tables.questions.values() if q.measures is not None
        }

    def _name(self, slug: str) -> str:
        return self.t.conditions[slug].name

    def begin_here(self, ranked: list[StageEstimate]) -> list[StageEstimate]:
        """Conditions with a known next step. An unknown stage is a fact to confirm, listed in
        "Check first" above the list, not a place to begin a multi-year effort; only when no
        condition has a known next step does the list itself read "confirm"."""
        # `focus` written out (this runs a few times a result): "advance" and "confirm".
        advance = [e for e in ranked if e.stage is not None and e.stage < TOP_STAGE]
        unknown = [e for e in ranked if e.stage is None]
        if not advance and unknown:
            # Nothing has a known next step: one list, "Confirm these first", of every unknown
            # (no "Check first" above it, no order among them to explain).
            return unknown
        return (advance or ranked)[:BEGIN_HERE]

    def extras(
        self, ranked: list[StageEstimate], placed: dict[str, Placed], begin: list[StageEstimate]
    ) -> Piece:
        shown = {e.slug for e in begin}
        return {
            "check_first": [
                self.check_first(e, placed[e.slug])
                for e in ranked
                if e.stage is None and e.slug not in shown
            ]
        }

    def check_first(self, estimate: StageEstimate, place: Placed) -> Piece:
        name = self._name(estimate.slug)
        why = (
            "you were not sure"
            if estimate.confidence == "unsure"
            else "you did not answer the question"
        )
        message = f"Where your state stands on {name} ({why})."
        if place.unlocks:
            steps = "step" if len(place.unlocks) == 1 else "steps"
            verb = "builds" if len(place.unlocks) == 1 else "build"
            message += (
                f" The next {steps} of {self._names(place.unlocks)} {verb} on it: our reading of "
                "the framework's stage goals, not the framework's order. Once you know its "
                "stage, see the list again."
            )
        return {
            "slug": estimate.slug,
            "name": name,
            "confidence": estimate.confidence,
            "unlocks": list(place.unlocks),
            "message": message,
        }

    def _names(self, slugs: list[str]) -> str:
        return names([self._name(s) for s in slugs])

    def recommendation(
        self,
        estimate: StageEstimate,
        place: Placed,
        ranked: list[StageEstimate],
        placed: dict[str, Placed],
        priorities: set[str],
        state: str | None,
    ) -> Piece:
        found = super().recommendation(estimate, place, ranked, placed, priorities, state)
        if found["early_adopter_is_respondent_state"] and estimate.stage == 0:
            # The framework's own example placed at our "Not yet started" point: one of the two
            # is out of date, and we cannot tell which.
            found["reasons"].append(
                "KnowledgeWorks cites your state as this condition's early adopter (in the "
                "framework, about 2019); if your answer still places it at Not yet started, "
                "re-check the answer, or the example may have lapsed."
            )
        return found

    def tie_note(
        self, ranked: list[StageEstimate], placed: dict[str, Placed], priorities: set[str]
    ) -> str | None:
        notes = []
        if not _any_next_step(ranked):
            # Nothing known to order: the one list of checks needs no tie or ordering sentence.
            return None
        begin = [e.slug for e in self.begin_here(ranked)]
        first = placed[ranked[0].slug]
        if first.basis == "tie":
            level = [first.slug, *first.tied_with]
            if all(slug in priorities for slug in level):
                both = "both" if len(level) == 2 else "all"
                notes.append(
                    f"{self._names(level)} are {both} your priorities, and nothing else in your "
                    "answers separates them, so choose which to lead with."
                )
            elif all(slug in priorities or placed[slug].for_priority for slug in level):
                notes.append(
                    f"{self._names(level)} are your priorities or needed for them, and nothing "
                    "else in your answers separates them, so choose which to lead with."
                )
            else:
                notes.append(
                    f"Your answers put {self._names(level)} together at the top, and nothing "
                    "in them separates them: they are equals, listed in the framework's order. "
                    "Choose one as a priority to put it first."
                )
        else:
            for slug in begin[1:]:
                left_out = [t for t in placed[slug].tied_with if t not in begin]
                if placed[slug].basis == "tie" and left_out:
                    notes.append(
                        f"{self._name(slug)} is level with {self._names(left_out)}, which "
                        f"{'is' if len(left_out) == 1 else 'are'} not shown here: nothing in "
                        "your answers separates them."
                    )
                    break
        by_slug = {e.slug: e for e in ranked}
        for slug in [s for s in self.t.conditions if s in priorities]:
            note = self._priority_note(by_slug[slug], placed[slug])
            if note is not None and slug not in begin:
                notes.append(note)
        return " ".join(notes) or None

    def _priority_note(self, estimate: StageEstimate, place: Placed) -> str | None:
        name = self._name(estimate.slug)
        if place.waits_for:
            return (
                f"Your priority {name} cannot come first yet: its next step waits on "
                f"{self._names(place.waits_for)} (our reading of the framework's stage goals), "
                f"so {'that is' if len(place.waits_for) == 1 else 'those are'} put first, as "
                "needed for your priority."
            )
        if estimate.stage is None:
            return f"You were not sure where your state stands on your priority {name}: confirm that first."
        if estimate.stage >= TOP_STAGE:
            return (
                f"Your priority {name} is already at Statewide Transformation, so there is no "
                "next stage to put first: it stays with the conditions to sustain."
            )
        return None

    def contradiction(self, estimate: StageEstimate) -> Piece | None:
        """Only answers to questions that measure the same thing can contradict each other."""
        seen: set[str] = set()
        for e in estimate.evidence:
            measures = self.measures.get(e.question_id)
            if measures is not None:
                if measures in seen:
                    return super().contradiction(estimate)
                seen.add(measures)
        return None

    def reasons(
        self,
        estimate: StageEstimate,
        ranked: list[StageEstimate],
        place: Placed,
        placed: dict[str, Placed],
        priorities: set[str],
    ) -> list[str]:
        reasons = self.stage_sentences(estimate)
        # Only the sentence of a condition that waits reads the other conditions' stages.
        stage_of = {e.slug: e.stage for e in ranked} if place.waits_for else {}
        known = _any_next_step(ranked)
        reasons.append(self.readiness_reason(estimate, place, stage_of, known))
        if place.waits_for or (place.basis == "stage" and not place.tied_with) or not known:
            pass  # the readiness reason says it all (nothing known: no order to explain)
        else:
            reasons.append(self.comparison_reason(estimate, place, placed, priorities))
        if estimate.slug in priorities:
            note = self._priority_note(estimate, place)
            if note is not None:
                reasons.append(note)
        return reasons

    def stage_reasons(self, estimate: StageEstimate) -> list[str]:
        name = self._name(estimate.slug)
        if estimate.confidence != "answered" or estimate.stage is None:
            return super().stage_reasons(estimate)
        stage_name = self.t.stage_names[estimate.stage]
        point = (
            f"{stage_name} (a point of ours before the framework's three stages)"
            if estimate.stage == 0
            else f"{stage_name} ({estimate.stage} of 3)"
        )
        reasons = [
            f"You told us {quote(e.label)} when asked {quote(e.prompt)}. We read that as "
            f"{point} in {name}: our reading of the framework's stage goals."
            for e in estimate.evidence
            if e.stage == estimate.stage
        ]
        higher = [
            e
            for e in estimate.evidence
            if e.stage is not None and e.stage > estimate.stage and not e.floor
        ]
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

    def readiness_reason(
        self,
        estimate: StageEstimate,
        place: Placed,
        stage_of: dict[str, int | None],
        any_next_step: bool = True,
    ) -> str:
        if estimate.stage is None and place.unlocks:
            steps, verb = ("step", "builds") if len(place.unlocks) == 1 else ("steps", "build")
            return (
                "Its stage is not known, so it is a check before the list (Check first), not a "
                "place to begin: confirm where your state stands, with the first-stage goal as "
                f"the milestone. The next {steps} of {self._names(place.unlocks)} {verb} on it "
                "(links of our reading), so the list may change once you know."
            )
        if estimate.stage is None and not any_next_step:
            return (
                "Its stage is not known: confirm where your state stands, with the first-stage "
                "goal as the milestone."
            )
        if estimate.stage is None:
            return (
                "Its stage is not known, so it is a check before the list (Check first) and "
                "follows the conditions whose next step is clear: confirm where your state "
                "stands, with the first-stage goal as the milestone."
            )
        if estimate.stage >= TOP_STAGE:
            return (
                "Your state has reached Statewide Transformation here, so there is no next stage: "
                "sustain this work and keep improving it."
            )
        next_name = self.t.stage_names[estimate.stage + 1]
        name = self._name(estimate.slug)
        if place.waits_for:
            unknown = [s for s in place.waits_for if stage_of.get(s, 0) is None]
            known = [s for s in place.waits_for if s not in unknown]
            first = []
            if known:
                first.append(f"First: {self._names(known)}.")
            if unknown:
                first.append(
                    f"{'First' if not known else 'And first'} confirm where your state stands "
                    f"on {self._names(unknown)} (see Check first): its stage is not known."
                )
            needs = []
            for slug in place.waits_for:
                link = self.links[(estimate.slug, slug)]
                needs.append(
                    f"{self._name(slug)} at {self.t.stage_names[link.needs_stage]} "
                    f"({link.rests_on.rstrip('.')})"
                )
            return (
                " ".join(first)
                + f" {next_name} in {name} builds on "
                + "; and on ".join(needs)
                + ". That link is our reading, not the framework's order."
            )
        sentence = f"Its next stage, {next_name}, needs no other condition first: it is ready."
        if place.for_priority:
            sentence += (
                f" Your priority {self._names(place.for_priority)} waits on it, so it comes "
                "first: needed for your priority (a link of our reading)."
            )
        unlocks = [s for s in place.unlocks if s not in place.for_priority]
        also = " also" if place.for_priority else ""
        if len(unlocks) >= 2:
            sentence += (
                f" It is a foundation: reaching {next_name} here{also} unlocks the next step of "
                f"{self._names(unlocks)} (links of our reading)."
            )
        elif unlocks:
            sentence += (
                f" Reaching {next_name} here also unlocks the next step of "
                f"{self._names(unlocks)} (a link of our reading)."
            )
        return sentence

    def _some(self, slugs: list[str], kind: str = "ready conditions") -> str:
        if len(slugs) > 3:
            return f"the {len(slugs)} other {kind}"
        return self._names(slugs)

    def comparison_reason(
        self,
        estimate: StageEstimate,
        place: Placed,
        placed: dict[str, Placed],
        priorities: set[str] | None = None,
    ) -> str:
        """Why it sits where it does among the conditions of its group, on `place.basis`:
        the ones before it and the ones after it, each said the right way round."""
        tied = place.tied_with
        if not tied:
            return "It is the only condition whose next step needs nothing else first."
        chosen = priorities or set()
        if place.basis == "tie" and estimate.slug in chosen and set(tied) <= chosen:
            return (
                f"It and {self._some(tied, 'conditions')} are {'both' if len(tied) == 1 else 'all'} "
                "your priorities, and nothing else in your answers separates them, so choose "
                "which to lead with."
            )
        if place.basis == "tie" and all(
            s in chosen or placed[s].for_priority for s in [estimate.slug, *tied]
        ):
            return (
                f"It and {self._some(tied, 'conditions')} are your priorities or needed for "
                "them, and nothing else in your answers separates them, so choose which to lead "
                "with."
            )
        if place.basis == "tie":
            return (
                f"Nothing in your answers or priorities separates it from {self._some(tied, 'conditions')}: "
                "they are equals, listed in the framework's order. Choose one as a priority to "
                "put it first."
            )
        before = [s for s in tied if placed[s].rank < place.rank]
        after = [s for s in tied if placed[s].rank > place.rank]
        kind = (
            "conditions"
            if estimate.stage is None or estimate.stage >= TOP_STAGE
            else "ready conditions"
        )
        if place.basis == "priority":
            if after:
                if estimate.slug not in chosen and place.for_priority:
                    return (
                        f"It is needed for your priority {self._names(place.for_priority)}, "
                        f"so it comes before {self._some(after, kind)}."
                    )
                return f"You chose it as a priority, so it comes before {self._some(after, kind)}."
            lifted = [s for s in before if s not in chosen and placed[s].for_priority]
            if lifted and len(lifted) == len(before):
                return f"{self._some(before, kind)} {'is' if len(before) == 1 else 'are'} needed for your priorities, so {'it comes' if len(before) == 1 else 'they come'} first."
            if lifted:
                return f"{self._some(before, kind)} {'is' if len(before) == 1 else 'are'} among your priorities or needed for them, so {'it comes' if len(before) == 1 else 'they come'} first."
            return f"{self._some(before, kind)} {'is' if len(before) == 1 else 'are'} among your priorities, so {'it comes' if len(before) == 1 else 'they come'} first."
        what = {
            "stage": ("is at an earlier stage", "are at an earlier stage"),
            "progress": (
                "shows a further step already taken (momentum)",
                "show a further step already taken (momentum)",
            ),
        }
        if place.basis == "dependency":
            by_unlocks = any(len(placed[s].unlocks) != len(place.unlocks) for s in tied)
            noun = "your other next steps" if by_unlocks else "your state's later steps"
            comes = "comes" if len(before) == 1 else "come"
            them_before = "it" if len(before) == 1 else "them"
            them_after = "it" if len(after) == 1 else "them"
            if before and after:
                text = (
                    f"{self._some(before, kind)} {comes} first: more of {noun} build on "
                    f"{them_before}; this one comes before {self._some(after, kind)}, on which "
                    "fewer build (links of our reading)"
                )
            elif before:
                text = (
                    f"{self._some(before, kind)} {comes} first: more of {noun} build on "
                    f"{them_before} (links of our reading)"
                )
            else:
                text = (
                    f"more of {noun} build on it than on {self._some(after, kind)} (links of "
                    f"our reading), so it comes before {them_after}"
                )
            return text[0].upper() + text[1:] + "."
        one, many = what.get(place.basis, ("differs", "differ"))
        parts = []
        if before:
            parts.append(
                f"{self._some(before, kind)} {one if len(before) == 1 else many}, so {'it comes' if len(before) == 1 else 'they come'} first"
            )
        if after:
            if place.basis == "stage":
                parts.append(
                    f"it is at an earlier stage than {self._some(after, kind)}, so it comes "
                    f"before {'it' if len(after) == 1 else 'them'}"
                )
            else:
                parts.append(
                    f"your answers show a further step already taken here, so it comes before {self._some(after, kind)}: it builds on momentum"
                )
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."


EXPLAINERS["3.0"] = Explainer3


def _any_next_step(ranked: list[StageEstimate]) -> bool:
    """Whether any condition has a known stage below Statewide Transformation."""
    for e in ranked:  # `focus(e.stage) == "advance"`, written out: four times a result
        if e.stage is not None and e.stage < TOP_STAGE:
            return True
    return False
