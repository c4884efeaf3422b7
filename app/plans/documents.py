"""The plan as documents: a two-page PDF brief for a board packet, and an editable Word memo.

Both carry the same content (`brief_content`): a summary, the stage map of the latest result,
the plan itself and the sources, with the quiz and scoring versions and the date. The PDF is
HTML and CSS laid out by WeasyPrint (a library built for print layout: pages, running footers,
page breaks), the memo is written with python-docx (real Word headings, lists and a table, so
it can be edited). WeasyPrint needs Pango from the system (scripts/install-system-deps.sh,
the image); where it is missing, `pdf_brief` raises `DocumentsUnavailable` and the app, which
imports WeasyPrint only here and only when a PDF is asked for, runs on without it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from app.errors import AppError
from app.plans.plans import TIME_FRAMES, PlanPublic
from app.responses.results import StoredResult
from quiz import Framework
from quiz.framework import ConditionStage

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class DocumentsUnavailable(AppError):
    status_code, code = 503, "pdf_unavailable"


@dataclass(frozen=True)
class MapRow:
    name: str
    stage: int | None
    stage_name: str
    planned: bool


@dataclass(frozen=True)
class BriefContent:
    title: str
    state_name: str | None
    made_on: date
    time_frame: str
    quiz_version: str
    scoring_version: str
    plan: PlanPublic
    stage_map: list[MapRow]
    framework_title: str
    framework_publisher: str
    framework_url: str
    # Stage names the framework's pages do not use (named by us), for the sources note.
    our_stage_names: list[str]

    @property
    def versions_line(self) -> str:
        return (
            f"Made {self.made_on.strftime('%-d %B %Y')} from a result of quiz version "
            f"{self.quiz_version}, scoring method {self.scoring_version}."
        )


def brief_content(
    plan: PlanPublic,
    latest: StoredResult,
    framework: Framework,
    state_name: str | None,
    today: date,
) -> BriefContent:
    planned = {c.condition for c in plan.conditions}
    rows = [
        MapRow(c["name"], c.get("stage"), c["stage_name"], c["slug"] in planned)
        for c in sorted(latest.get("conditions", []), key=lambda c: c.get("rank", 0))
    ]
    return BriefContent(
        title=f"A plan for {state_name}" if state_name else "A plan for the state",
        state_name=state_name,
        made_on=today,
        time_frame=TIME_FRAMES[plan.time_frame],
        quiz_version=plan.quiz_version,
        scoring_version=plan.scoring_version,
        plan=plan,
        stage_map=rows,
        framework_title=framework.title,
        framework_publisher=framework.publisher,
        framework_url=framework.source_url,
        our_stage_names=[s.name for s in framework.stages if s.name_provenance != "source"],
    )


def pdf_brief(html: str) -> bytes:
    """The brief laid out as PDF from its HTML (app/templates/plan_brief.html)."""
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]  # no type hints shipped
    except (ImportError, OSError) as exc:  # OSError: Pango or HarfBuzz not installed
        raise DocumentsUnavailable(
            "PDF briefs need WeasyPrint's system libraries (Pango), which this server does "
            "not have. The Word memo works without them."
        ) from exc
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def docx_memo(content: BriefContent) -> bytes:
    """The same content as an editable Word document."""
    from docx import Document
    from docx.shared import Pt

    document = Document()
    document.styles["Normal"].font.size = Pt(10)
    document.add_heading(content.title, level=0)
    document.add_paragraph(content.versions_line)
    document.add_paragraph(
        f"Time frame: {content.time_frame}. Milestones checked: "
        f"{content.plan.progress.done} of {content.plan.progress.total}."
    )

    document.add_heading("Summary", level=1)
    for c in content.plan.conditions:
        document.add_paragraph(
            f"{c.name}: from {c.current_stage_name} to {c.target_stage_name}.",
            style="List Bullet",
        )

    document.add_heading("Where the state stands", level=1)
    for row in content.stage_map:
        mark = " (in the plan)" if row.planned else ""
        document.add_paragraph(f"{row.name}: {row.stage_name}{mark}", style="List Bullet")

    document.add_heading("The plan", level=1)
    for c in content.plan.conditions:
        document.add_heading(f"{c.name}: toward {c.target_stage_name}", level=2)
        _para(document, f"Goal {_whose(c.stage, 'goal')}", c.stage.goal)
        document.add_paragraph(f"Supporting actions {_whose(c.stage, 'actions')}")
        for action in c.stage.actions:
            document.add_paragraph(action, style="List Bullet")
        if c.stage.provenance == "derived" or c.stage.derived_fields:
            document.add_paragraph(_derived_note(c.stage.provenance, c.stage.derived_fields))
        document.add_paragraph("Milestones to check (our question ladder)")
        if c.milestones:
            table = document.add_table(rows=1, cols=4)
            table.style = "Table Grid"
            for cell, text in zip(
                table.rows[0].cells, ("Done", "Milestone", "Owner (a role)", "Date"), strict=True
            ):
                cell.text = text
            for m in c.milestones:
                cells = table.add_row().cells
                cells[0].text = "Yes" if m.done else "No"
                cells[1].text = f"{m.label} ({m.stage_name})"
                cells[2].text = m.owner or ""
                cells[3].text = m.due.isoformat() if m.due else ""
        else:
            document.add_paragraph("None left: every rung up to this stage is reached.")
        _para(
            document,
            f"Strategic question {_whose(c.stage, 'strategic_question')}",
            c.stage.strategic_question,
        )
        whose = (
            "named in the framework's text"
            if c.stage.stakeholders_provenance == "source"
            else "our suggestion"
        )
        _para(
            document, f"Who to involve ({whose})", "; ".join(c.stage.stakeholders) or "Not given."
        )
        adopter = c.early_adopter
        _para(
            document,
            "Early adopter",
            f"{adopter.state_name}: {adopter.summary}"
            if adopter
            else (c.early_adopter_note or "Not known."),
        )
        for e in c.evidence:
            _para(document, "Evidence given", " ".join(x for x in (e.note, e.link) if x))

    document.add_heading("Sources", level=1)
    document.add_paragraph(
        f"{content.framework_title}, {content.framework_publisher}: {content.framework_url}"
    )
    for c in content.plan.conditions:
        document.add_paragraph(f"{c.name}: {c.source_url}", style="List Bullet")
    document.add_paragraph(
        "The framework's content is paraphrased in our own words. The milestones come from "
        "this quiz's own questions, not from the framework"
        + (
            f"; the stage names {_names(content.our_stage_names)} are ours."
            if content.our_stage_names
            else "."
        )
    )
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _names(names: Sequence[str]) -> str:
    """ "A, B and C"."""
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]


def _whose(stage: ConditionStage, part: Literal["goal", "actions", "strategic_question"]) -> str:
    """The label a part of the stage goes out with: the framework's only where it is."""
    if stage.written_by(part) == "source":
        return "(the framework's, in our words)"
    return "(ours, in the framework's pattern)"


def _para(document: Any, label: str, text: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.add_run(f"{label}. ").bold = True
    paragraph.add_run(text)


def _derived_note(provenance: str, derived: Sequence[str]) -> str:
    if provenance == "derived":
        return "Written by us in the framework's pattern: the source text for this stage was not available."
    parts = " and ".join(d.replace("_", " ") for d in derived)
    return f"Partly written by us: the {parts} were not in the available source text."
