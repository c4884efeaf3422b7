"""The framework's content as validated pydantic models, loaded from `data/`.

Content is data: a mistake in a content file (a missing field, a duplicate slug, an unknown
strategy, a stage out of range) stops loading with a `ContentError` that names the file and
the field, so a broken deployment fails at start-up instead of on a visitor's request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
StageLevel = Literal[0, 1, 2, 3]
# "source": paraphrased from the framework's own page or the seed documents.
# "derived": written by us in the framework's pattern because the source text was unavailable.
Provenance = Literal["source", "derived"]
M = TypeVar("M", bound=BaseModel)


class ContentError(ValueError):
    """A content file is malformed; the message names the file and the field."""


class _Content(BaseModel):
    # Unknown keys are mistakes too (a typo such as `goall` must not pass silently).
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageScaleEntry(_Content):
    level: StageLevel
    name: Text
    # "inferred" and "derived" names are ours, and the pages say so where they show them.
    name_provenance: Literal["source", "inferred", "derived"]
    description: Text
    provenance: Literal["source", "derived", "inferred"]


class Strategy(_Content):
    slug: Slug
    name: Text
    order: int = Field(ge=1)


class RelatedCondition(_Content):
    slug: Slug
    basis: Text
    # No source links commitments to particular conditions: every link is our reading.
    provenance: Literal["inferred"] = "inferred"


class Commitment(_Content):
    slug: Slug
    name: Text
    summary: Text
    source_url: Text
    related_conditions: list[RelatedCondition] = []


class SequenceStep(_Content):
    slug: Slug
    # The source's lever this condition is mapped to; None where the source names no such lever
    # and the place is entirely ours.
    lever: int | None = Field(ge=1)
    basis: Text


class SuggestedSequence(_Content):
    """The last tie-breaker of the ranking: a published order of levers, mapped by us."""

    source_title: Text
    source_url: str | None = None
    source_note: str | None = None
    summary: Text
    steps: list[SequenceStep]


class Dependency(_Content):
    """A condition's next step that waits on another condition: our reading, never the source's."""

    condition: Slug
    # Applies when the condition's next stage is from `from_stage` to `to_stage`: a link resting
    # on one stage's goal holds back only that stage, never a state already past it.
    from_stage: Literal[1, 2, 3]
    to_stage: Literal[1, 2, 3] = 3
    needs: Slug
    needs_stage: Literal[1, 2, 3]
    rests_on: Text
    provenance: Literal["inferred"] = "inferred"


class ConditionStage(_Content):
    level: Literal[1, 2, 3]
    # Filled from the framework's stage scale when the condition is loaded.
    name: str = ""
    goal: Text
    actions: list[Text] = Field(min_length=1)
    strategic_question: Text
    provenance: Provenance
    # Within a stage taken from the source, the parts we had to write ourselves.
    derived_fields: list[Literal["goal", "actions", "strategic_question"]] = []
    # Who to involve at this stage (the plan's "who to involve"): the groups the stage's own
    # text names ("source"), or our choice where it names none ("derived"). Every condition
    # file must give them (load_framework); the defaults only let content versions stored
    # before they existed be read back, and are left out when dumped, so that a result scored
    # with such a version reads exactly as it did (not with two empty fields more).
    stakeholders: list[Text] = Field(default=[], exclude_if=lambda names: not names)
    stakeholders_provenance: Provenance | None = Field(
        default=None, exclude_if=lambda provenance: provenance is None
    )

    def written_by(self, part: Literal["goal", "actions", "strategic_question"]) -> Provenance:
        """Whose a part of this stage is: "source" (the framework's, put in our words) or
        "derived" (ours, in the framework's pattern: the stage or that part of it)."""
        return (
            "derived" if self.provenance == "derived" or part in self.derived_fields else "source"
        )


class EarlyAdopter(_Content):
    state: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    state_name: Text
    year: int | None = Field(default=None, ge=1990, le=2100)
    summary: Text
    provenance: Provenance
    source_url: str | None = None


class Condition(_Content):
    slug: Slug
    name: Text
    strategy: Slug
    strategy_provenance: Literal["source", "inferred"]
    strategy_note: str | None = None
    summary: Text
    summary_provenance: Provenance = "source"
    source_url: Text
    source_note: str | None = None
    stages: list[ConditionStage] = Field(min_length=3, max_length=3)
    early_adopter: EarlyAdopter | None
    early_adopter_note: str | None = None


class Framework(_Content):
    edition: Text
    title: Text
    subtitle: Text
    publisher: Text
    source_url: Text
    summary: Text
    declared_condition_count: int
    notes: list[Text]
    stages: list[StageScaleEntry]
    strategies: list[Strategy]
    commitments: list[Commitment]
    listing_order: list[Slug]
    suggested_sequence: SuggestedSequence
    conditions: list[Condition] = []
    # From dependencies.yaml; content versions before scoring 3.0 have none.
    dependencies: list[Dependency] = []

    def condition(self, slug: str) -> Condition | None:
        return next((c for c in self.conditions if c.slug == slug), None)


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


# libyaml's parser when PyYAML was built with it (its wheels are): the same documents, parsed
# about ten times faster than the pure-Python one (2 ms instead of 22 ms of a worker's start).
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=SAFE_LOADER)
    except FileNotFoundError as exc:
        raise ContentError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ContentError(f"{path}: not valid YAML: {exc}") from exc


def parse_content(model: type[M], data: Any, path: Path) -> M:
    """Validate `data` as `model`, turning pydantic's errors into one message naming the file."""
    if not isinstance(data, dict):
        raise ContentError(f"{path}: expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{_where(err['loc'])}': {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ContentError(f"{path}: {problems}") from exc


def load_framework(data_dir: Path = DATA_DIR) -> Framework:
    """Load `framework.yaml` and every `conditions/*.yaml`, and check them against each other."""
    framework_path = data_dir / "framework.yaml"
    raw = read_yaml(framework_path)
    if isinstance(raw, dict) and "conditions" in raw:
        raise ContentError(
            f"{framework_path}: field 'conditions': conditions belong in {data_dir / 'conditions'}"
        )
    framework = parse_content(Framework, raw, framework_path)
    _check_unique(framework_path, "stages", [s.level for s in framework.stages])
    if sorted(s.level for s in framework.stages) != [0, 1, 2, 3]:
        raise ContentError(f"{framework_path}: field 'stages': must list levels 0, 1, 2 and 3")
    _check_unique(framework_path, "strategies", [s.slug for s in framework.strategies])
    _check_unique(framework_path, "commitments", [c.slug for c in framework.commitments])

    strategy_slugs = {s.slug for s in framework.strategies}
    stage_names = {s.level: s.name for s in framework.stages}
    conditions: list[Condition] = []
    seen: dict[str, Path] = {}
    condition_files = sorted((data_dir / "conditions").glob("*.yaml"))
    if not condition_files:
        raise ContentError(f"{data_dir / 'conditions'}: no condition files found")
    for path in condition_files:
        condition = parse_content(Condition, read_yaml(path), path)
        if condition.slug in seen:
            raise ContentError(
                f"{path}: field 'slug': duplicate slug '{condition.slug}' (also in {seen[condition.slug]})"
            )
        seen[condition.slug] = path
        if condition.strategy not in strategy_slugs:
            raise ContentError(
                f"{path}: field 'strategy': unknown strategy '{condition.strategy}' "
                f"(known: {', '.join(sorted(strategy_slugs))})"
            )
        levels = [s.level for s in condition.stages]
        if sorted(levels) != [1, 2, 3]:
            raise ContentError(
                f"{path}: field 'stages': needs exactly one stage each for levels 1, 2 and 3, got {levels}"
            )
        for i, stage in enumerate(condition.stages):
            _check_stakeholders(path, i, stage)
        stages = [
            s.model_copy(update={"name": stage_names[s.level]})
            for s in sorted(condition.stages, key=lambda s: s.level)
        ]
        conditions.append(condition.model_copy(update={"stages": stages}))

    known = set(seen)
    order = [p.slug for p in framework.suggested_sequence.steps]
    _check_unique(framework_path, "suggested_sequence.steps", order)
    if set(order) != known:
        missing, unknown = sorted(known - set(order)), sorted(set(order) - known)
        raise ContentError(
            f"{framework_path}: field 'suggested_sequence.steps': must list every condition once "
            f"(missing: {missing or 'none'}; unknown: {unknown or 'none'})"
        )
    for i, commitment in enumerate(framework.commitments):
        for j, related in enumerate(commitment.related_conditions):
            if related.slug not in known:
                raise ContentError(
                    f"{framework_path}: field 'commitments.{i}.related_conditions.{j}.slug': "
                    f"unknown condition '{related.slug}'"
                )
    if len(conditions) > framework.declared_condition_count:
        raise ContentError(
            f"{framework_path}: field 'declared_condition_count': {len(conditions)} condition files "
            f"but the framework declares {framework.declared_condition_count}"
        )
    _check_unique(framework_path, "listing_order", framework.listing_order)
    if set(framework.listing_order) != known:
        raise ContentError(
            f"{framework_path}: field 'listing_order': must list every condition once"
        )
    # A display order only: the ranking never uses it.
    position = {slug: i for i, slug in enumerate(framework.listing_order)}
    conditions.sort(key=lambda c: position[c.slug])
    dependencies = _load_dependencies(data_dir / "dependencies.yaml", known)
    return framework.model_copy(update={"conditions": conditions, "dependencies": dependencies})


class _Dependencies(_Content):
    links: list[Dependency]


def _load_dependencies(path: Path, known: set[str]) -> list[Dependency]:
    if not path.exists():
        return []
    links = parse_content(_Dependencies, read_yaml(path), path).links
    seen: set[tuple[str, int, str]] = set()
    for i, link in enumerate(links):
        for field in ("condition", "needs"):
            if getattr(link, field) not in known:
                raise ContentError(
                    f"{path}: field 'links.{i}.{field}': unknown condition '{getattr(link, field)}'"
                )
        if link.to_stage < link.from_stage:
            raise ContentError(f"{path}: field 'links.{i}.to_stage': below from_stage")
        if link.condition == link.needs:
            raise ContentError(f"{path}: field 'links.{i}.needs': a condition cannot need itself")
        key = (link.condition, link.from_stage, link.needs)
        if key in seen:
            raise ContentError(f"{path}: field 'links.{i}': duplicate link")
        seen.add(key)
    return links


def _check_stakeholders(path: Path, i: int, stage: ConditionStage) -> None:
    """Every stage names who to involve, and says whose list it is: a stage we wrote ourselves
    cannot have the source's."""
    where = f"{path}: field 'stages.{i}"
    if not stage.stakeholders:
        raise ContentError(f"{where}.stakeholders': every stage needs at least one")
    if stage.stakeholders_provenance is None:
        raise ContentError(f"{where}.stakeholders_provenance': must be 'source' or 'derived'")
    if stage.stakeholders_provenance == "source" and stage.provenance == "derived":
        raise ContentError(
            f"{where}.stakeholders_provenance': a stage written by us has no source stakeholders"
        )
    _check_unique(path, f"stages.{i}.stakeholders", stage.stakeholders)


def _check_unique(path: Path, field: str, values: list[Any]) -> None:
    seen: set[Any] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise ContentError(f"{path}: field '{field}.{i}': duplicate value '{value}'")
        seen.add(value)
