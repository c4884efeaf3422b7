"""The framework content loads, is complete, and a broken file stops start-up by name."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from quiz import DATA_DIR, ContentError, Framework, load_framework
from quiz.framework import SAFE_LOADER

ROOT = Path(__file__).resolve().parents[2]


def test_framework_loads_every_condition_with_three_stages(framework: Framework) -> None:
    assert len(framework.conditions) == 11
    assert framework.declared_condition_count == 12
    for condition in framework.conditions:
        assert [s.level for s in condition.stages] == [1, 2, 3]
        assert [s.name for s in condition.stages] == [
            "Exploration",
            "Replication",
            "Statewide Transformation",
        ]
        for stage in condition.stages:
            assert stage.goal and stage.strategic_question and stage.actions
        assert condition.source_url.startswith("https://knowledgeworks.org/")


def test_strategies_stages_and_commitments(framework: Framework) -> None:
    assert [s.name for s in framework.strategies] == [
        "Building Capacity",
        "Empowering Student Learning",
        "Cultivating System Change",
        "Ensuring Quality",
    ]
    assert [(s.level, s.name) for s in framework.stages] == [
        (0, "Not yet started"),
        (1, "Exploration"),
        (2, "Replication"),
        (3, "Statewide Transformation"),
    ]
    assert [c.name for c in framework.commitments] == [
        "Alignment",
        "Equity",
        "Transformative School Models",
        "Shared Ownership",
    ]
    assert {c.strategy for c in framework.conditions} == {s.slug for s in framework.strategies}


def test_confirmed_names_are_exact(framework: Framework) -> None:
    assert {c.name for c in framework.conditions} == {
        "Vision for Student Success",
        "Collaborative Leadership",
        "Comprehensive Supports for Educators and Leaders",
        "Quality Framework for Student Success",
        "Student Learning Pathways",
        "Equitable Conditions for Learning",
        "Culture of Innovation",
        "Responsive Funding Systems",
        "Continuous School Improvement",
        "Balanced Assessments",
        "Measuring Success",
    }


def test_provenance_is_honest(framework: Framework) -> None:
    vision = framework.condition("vision-for-student-success")
    assert vision is not None and vision.early_adopter is not None
    assert (vision.early_adopter.state, vision.early_adopter.year) == ("SC", 2013)
    assert all(s.provenance == "source" and not s.derived_fields for s in vision.stages)
    leadership = framework.condition("collaborative-leadership")
    assert leadership is not None and leadership.early_adopter is not None
    assert (leadership.early_adopter.state, leadership.early_adopter.year) == ("ND", 2017)
    supports = framework.condition("comprehensive-supports-for-educators-and-leaders")
    assert supports is not None and supports.early_adopter is not None
    assert supports.early_adopter.state == "NH"
    assert all(s.provenance == "derived" for s in supports.stages)
    # Stage 3 text is only in the sources for the two complete pages.
    for condition in framework.conditions:
        if condition.slug not in ("vision-for-student-success", "collaborative-leadership"):
            assert condition.stages[2].provenance == "derived", condition.slug
        if condition.early_adopter is None:
            assert condition.early_adopter_note
        assert condition.strategy_provenance == "inferred"
    # The missing twelfth condition is stated, not invented.
    assert any("twelfth" in note for note in framework.notes)


def test_suggested_sequence_is_getting_smarts_order_and_labelled_ours(framework: Framework) -> None:
    sequence = framework.suggested_sequence
    order = [s.slug for s in sequence.steps]
    assert order[0] == "vision-for-student-success"
    assert sorted(order) == sorted(c.slug for c in framework.conditions)
    # Getting Smart's levers in its order: vision, equitable conditions and innovation,
    # assessment, accountability and data, educators, learning decoupled from seat time.
    levers = [s.lever for s in sequence.steps if s.lever is not None]
    assert levers == sorted(levers) and levers[0] == 1 and levers[-1] == 6
    assert order.index("balanced-assessments") < order.index("measuring-success")
    assert order.index("measuring-success") < order.index(
        "comprehensive-supports-for-educators-and-leaders"
    )
    for step in sequence.steps:
        if step.lever is None:
            assert step.basis.startswith("Not one of Getting Smart's levers")
            assert "ours" in step.basis or "We place it" in step.basis
    assert "not KnowledgeWorks' order" in sequence.summary
    assert any("sets no order" in note for note in framework.notes)
    # Getting Smart's second lever ("Creating Equitable Conditions": policy alignment, innovation
    # zones, competency-based pilots) is Culture of Innovation's, not the whole-child condition's.
    by_slug = {s.slug: s for s in sequence.steps}
    assert by_slug["culture-of-innovation"].lever == 2
    assert "innovation zones" in by_slug["culture-of-innovation"].basis
    assert by_slug["equitable-conditions-for-learning"].lever is None
    assert by_slug["responsive-funding-systems"].lever is None
    assert order[-1] == "responsive-funding-systems"
    assert (
        '"establishing innovation zones and competency-based education pilots"' in sequence.summary
    )


def test_new_early_adopters_and_confirmed_stage_text(framework: Framework) -> None:
    adopters = {
        c.slug: c.early_adopter.state for c in framework.conditions if c.early_adopter is not None
    }
    assert adopters == {
        "vision-for-student-success": "SC",
        "collaborative-leadership": "ND",
        "comprehensive-supports-for-educators-and-leaders": "NH",
        "responsive-funding-systems": "ID",
        "measuring-success": "PA",
        "equitable-conditions-for-learning": "PA",
        "continuous-school-improvement": "RI",
    }
    assert all(
        c.early_adopter.provenance == "source" for c in framework.conditions if c.early_adopter
    )
    vision = framework.condition("vision-for-student-success")
    assert vision is not None and vision.early_adopter is not None
    # Our own words: no run of eight words copied from the seed page (issue 21.4).
    seed = "TransformSC, an education initiative of the South Carolina Council on Competitiveness, helped spur a statewide conversation among business leaders, educators, students, parents and policymakers to ensure South Carolina's students graduate prepared for careers, college and citizenship."
    words, ours = seed.split(), " ".join(vision.early_adopter.summary.split())
    assert not any(" ".join(words[i : i + 8]) in ours for i in range(len(words) - 7))
    assert "Profile of the South Carolina Graduate" in ours
    for slug in (
        "culture-of-innovation",
        "responsive-funding-systems",
        "continuous-school-improvement",
        "measuring-success",
        "balanced-assessments",
        "quality-framework-for-student-success",
        "student-learning-pathways",
        "equitable-conditions-for-learning",
    ):
        condition = framework.condition(slug)
        assert condition is not None
        first, second = condition.stages[0], condition.stages[1]
        assert first.provenance == "source" and "strategic_question" not in first.derived_fields
        assert second.provenance == "source" and "goal" not in second.derived_fields


def test_our_readings_are_labelled(framework: Framework) -> None:
    names = {s.level: s.name_provenance for s in framework.stages}
    assert names == {0: "derived", 1: "inferred", 2: "inferred", 3: "source"}
    assert all(s.provenance == "derived" for s in framework.stages)  # descriptions are ours
    for commitment in framework.commitments:
        assert all(rc.provenance == "inferred" for rc in commitment.related_conditions)


# --- broken content --------------------------------------------------------------------------


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def edit_yaml(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_missing_field_names_file_and_field(data_copy: Path) -> None:
    path = data_copy / "conditions" / "balanced-assessments.yaml"
    edit_yaml(path, lambda d: d["stages"][1].pop("goal"))
    with pytest.raises(ContentError) as err:
        load_framework(data_copy)
    assert "balanced-assessments.yaml" in str(err.value)
    assert "stages.1.goal" in str(err.value)


def test_every_stage_names_who_to_involve_and_whose_list_it_is(framework: Framework) -> None:
    """The plan's "who to involve": each stage lists stakeholders; "source" only where the
    stage's own text is the framework's (a stage we wrote cannot name the source's groups)."""
    for condition in framework.conditions:
        for stage in condition.stages:
            assert stage.stakeholders, (condition.slug, stage.level)
            assert stage.stakeholders_provenance in ("source", "derived")
            if stage.provenance == "derived":
                assert stage.stakeholders_provenance == "derived", (condition.slug, stage.level)
    vision = framework.condition("vision-for-student-success")
    assert vision is not None and "Employers" in vision.stages[0].stakeholders


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda stage: stage.pop("stakeholders"), "stages.0.stakeholders'"),
        (lambda stage: stage.update(stakeholders=[]), "stages.0.stakeholders'"),
        (lambda stage: stage.pop("stakeholders_provenance"), "stages.0.stakeholders_provenance'"),
        (
            lambda stage: stage.update(stakeholders_provenance="ours"),
            "stages.0.stakeholders_provenance'",
        ),
        (
            lambda stage: stage.update(stakeholders=["Employers", "Employers"]),
            "stages.0.stakeholders.1'",
        ),
    ],
)
def test_stakeholders_are_checked_strictly(data_copy: Path, change, field: str) -> None:  # type: ignore[no-untyped-def]
    path = data_copy / "conditions" / "vision-for-student-success.yaml"
    edit_yaml(path, lambda d: change(d["stages"][0]))
    with pytest.raises(ContentError, match=re.escape(field)):
        load_framework(data_copy)


def test_a_stage_we_wrote_cannot_have_the_sources_stakeholders(data_copy: Path) -> None:
    path = data_copy / "conditions" / "balanced-assessments.yaml"
    edit_yaml(path, lambda d: d["stages"][2].update(stakeholders_provenance="source"))
    with pytest.raises(ContentError, match=r"stages.2.stakeholders_provenance'"):
        load_framework(data_copy)


def test_duplicate_slug_is_rejected(data_copy: Path) -> None:
    path = data_copy / "conditions" / "measuring-success.yaml"
    edit_yaml(path, lambda d: d.update(slug="balanced-assessments"))
    with pytest.raises(ContentError, match=r"field 'slug': duplicate slug 'balanced-assessments'"):
        load_framework(data_copy)


def test_unknown_strategy_is_rejected(data_copy: Path) -> None:
    path = data_copy / "conditions" / "culture-of-innovation.yaml"
    edit_yaml(path, lambda d: d.update(strategy="moving-fast"))
    with pytest.raises(
        ContentError,
        match=r"culture-of-innovation.yaml: field 'strategy': unknown strategy 'moving-fast'",
    ):
        load_framework(data_copy)


def test_stage_out_of_range_is_rejected(data_copy: Path) -> None:
    path = data_copy / "conditions" / "funding.yaml"
    shutil.move(data_copy / "conditions" / "responsive-funding-systems.yaml", path)
    edit_yaml(path, lambda d: d["stages"][2].update(level=4))
    with pytest.raises(ContentError) as err:
        load_framework(data_copy)
    assert "funding.yaml" in str(err.value) and "stages.2.level" in str(err.value)


def test_repeated_stage_level_is_rejected(data_copy: Path) -> None:
    path = data_copy / "conditions" / "pathways.yaml"
    shutil.move(data_copy / "conditions" / "student-learning-pathways.yaml", path)
    edit_yaml(path, lambda d: d["stages"][2].update(level=2))
    with pytest.raises(ContentError, match=r"pathways.yaml: field 'stages'"):
        load_framework(data_copy)


def test_misspelt_field_is_rejected(data_copy: Path) -> None:
    path = data_copy / "framework.yaml"
    edit_yaml(path, lambda d: d["strategies"][0].update(nmae="typo"))
    with pytest.raises(ContentError, match=r"framework.yaml: field 'strategies.0.nmae'"):
        load_framework(data_copy)


def test_suggested_sequence_must_cover_every_condition(data_copy: Path) -> None:
    edit_yaml(data_copy / "framework.yaml", lambda d: d["suggested_sequence"]["steps"].pop())
    with pytest.raises(
        ContentError, match=r"suggested_sequence.steps.*missing: \['responsive-funding-systems'\]"
    ):
        load_framework(data_copy)


def test_invalid_yaml_names_the_file(data_copy: Path) -> None:
    (data_copy / "conditions" / "broken.yaml").write_text("slug: [unclosed\n")
    with pytest.raises(ContentError, match=r"broken.yaml: not valid YAML"):
        load_framework(data_copy)


def test_broken_content_stops_app_start_up(data_copy: Path) -> None:
    edit_yaml(data_copy / "conditions" / "measuring-success.yaml", lambda d: d.pop("summary"))
    env = {**os.environ, "QUIZ_DATA_DIR": str(data_copy)}
    proc = subprocess.run(
        [sys.executable, "-c", "import app.asgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "measuring-success.yaml" in proc.stderr
    assert "field 'summary'" in proc.stderr


def test_content_reads_the_same_with_the_fast_yaml_parser() -> None:
    """Start-up parses with libyaml where PyYAML has it; every content file must read exactly as
    with the pure-Python parser."""
    assert SAFE_LOADER is yaml.CSafeLoader  # the wheels ship libyaml: start-up depends on it
    for path in sorted(DATA_DIR.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=SAFE_LOADER) == yaml.safe_load(text), path


# What /work/shared/framework-notes.md confirms from the source: every stage of these two...
FULL_TEXT = {"vision-for-student-success", "collaborative-leadership"}
# ...and, for these eight, the first stage and the second-stage goal only.
FIRST_STAGE_AND_SECOND_GOAL = {
    "quality-framework-for-student-success",
    "student-learning-pathways",
    "equitable-conditions-for-learning",
    "culture-of-innovation",
    "responsive-funding-systems",
    "continuous-school-improvement",
    "balanced-assessments",
    "measuring-success",
}


def test_stage_labels_match_what_the_source_confirms(framework: Framework) -> None:
    """The About note and each stage's "written by us" label say the same thing: what the
    notes confirm is `source`, everything else `derived` (whole stage or field by field)."""
    by_slug = {c.slug: c for c in framework.conditions}
    assert set(by_slug) == FULL_TEXT | FIRST_STAGE_AND_SECOND_GOAL | {
        "comprehensive-supports-for-educators-and-leaders"
    }
    for slug, condition in by_slug.items():
        stages = {s.level: s for s in condition.stages}
        if slug in FULL_TEXT:
            assert all(s.provenance == "source" and not s.derived_fields for s in stages.values())
        elif slug in FIRST_STAGE_AND_SECOND_GOAL:
            assert stages[1].provenance == "source" and not stages[1].derived_fields, slug
            assert stages[2].provenance == "source", slug
            assert set(stages[2].derived_fields) == {"actions", "strategic_question"}, slug
            assert stages[3].provenance == "derived", slug
        else:
            assert all(s.provenance == "derived" for s in stages.values()), slug
    note = " ".join(" ".join(n.split()) for n in framework.notes)
    assert (
        "For eight more, the first stage (its goal, supporting actions and strategic question"
        in note
    )
    assert "the second-stage goal are confirmed" in note
    assert "every stage of Comprehensive Supports for Educators and Leaders were written by us" in (
        note
    )
