"""Plan pages: make a plan from a result, the plan at its private link (edited with a plain
form), its PDF brief and Word memo (app/plans/plans.py, documents.py, history.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from app.deps import LimiterDep, ResultsDep, SessionDep, SettingsDep, client_address
from app.errors import InvalidRequest
from app.http.answers import PRIVATE
from app.plans.documents import (
    DOCX,
    PDF,
    DocumentsUnavailable,
    brief_content,
    docx_memo,
    pdf_brief,
)
from app.plans.history import chart, since_last_time
from app.plans.plans import (
    DEFAULT_TIME_FRAME,
    MAX_CONDITIONS,
    MAX_OWNER,
    TIME_FRAMES,
    PlanCreate,
    PlanPublic,
    PlanUpdate,
    TeamPlanCreate,
    create_plan,
    create_team_plan,
    latest_results,
    plan_for_token,
    plan_responses,
    plan_view,
    team_result,
    update_plan,
)
from app.responses.results import Results
from app.responses.submissions import public_base, read_response
from app.teams.service import get_team
from app.web.templating import TEMPLATES, render, render_error

router = APIRouter(include_in_schema=False)


async def read_request_form(request: Request) -> FormData:
    """The form as sent, read on the event loop (an async dependency), so the route can be
    `def`: FastAPI runs it, and its session work, in the thread pool."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_request_form)]


def _private(response: Response) -> Response:
    response.headers.update(PRIVATE)
    return response


def _choose_context(session: Session, results: Results, response_id: str) -> dict[str, Any]:
    record = read_response(session=session, response_id=response_id)
    result = results.full(session, record)
    begin = list(result.get("begin_here") or [])
    begin = begin or [r["slug"] for r in result.get("recommendations", [])][:MAX_CONDITIONS]
    return {
        "result": result,
        "begin": begin[:MAX_CONDITIONS],
        "stage_names": results.scorer.stage_names,
        "action": f"/results/{record.id}/plan",
        "source_url": f"/results/{record.id}",
        "source_text": f"your result of {record.created_at.strftime('%-d %B %Y')}",
        "team": None,
    }


def _team_choose_context(
    session: Session, results: Results, team_id: str, threshold: int
) -> dict[str, Any]:
    team = get_team(session, team_id)
    result = team_result(session, results, team, threshold)
    return {
        "result": result,
        "begin": result["begin_here"],
        "stage_names": results.scorer.stage_names,
        "action": f"/teams/{team.id}/plan",
        "source_url": f"/teams/{team.id}",
        "source_text": f"the team “{team.name}”",
        "team": team,
    }


@router.get("/results/{response_id}/plan", response_class=HTMLResponse)
def read_new_plan_form(
    response_id: str, request: Request, session: SessionDep, results: ResultsDep
) -> Response:
    """Choose up to three conditions (the "Begin here" list is chosen already), a target stage
    for each (the next stage unless changed) and a time frame."""
    context = _choose_context(session, results, response_id)
    chosen: dict[str, int | None] = dict.fromkeys(context["begin"])
    return render(request, "plan_new.html", _form_page(context, chosen, DEFAULT_TIME_FRAME, {}))


def _form_page(
    context: dict[str, Any], chosen: dict[str, int | None], time_frame: str, errors: dict[str, str]
) -> dict[str, Any]:
    return context | {
        "chosen": chosen,
        "time_frame": time_frame,
        "time_frames": TIME_FRAMES,
        "errors": errors,
        "max_conditions": MAX_CONDITIONS,
    }


def _read_choice(form: FormData) -> tuple[dict[str, int | None], str, dict[str, str]]:
    """The plan form's choice, as both forms (a result's, a team's) send it: each condition
    picked with its target stage (None when not a number), the time frame, and what is wrong."""
    picked = [str(v) for v in form.getlist("condition")]
    targets = {slug: str(form.get(f"target-{slug}") or "") for slug in picked}
    chosen = {s: int(t) if t.isdigit() else None for s, t in targets.items()}
    time_frame = str(form.get("time_frame") or DEFAULT_TIME_FRAME)
    errors: dict[str, str] = {}
    if not picked:
        errors["conditions"] = "Choose at least one condition."
    elif len(picked) > MAX_CONDITIONS:
        errors["conditions"] = f"Choose at most {MAX_CONDITIONS} conditions."
    return chosen, time_frame, errors


@router.post("/results/{response_id}/plan", response_class=HTMLResponse)
def create_plan_from_form(
    response_id: str,
    request: Request,
    form: FormDep,
    session: SessionDep,
    results: ResultsDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> Response:
    chosen, time_frame, errors = _read_choice(form)
    body: PlanCreate | None = None
    if not errors:
        try:
            body = PlanCreate.model_validate(
                {
                    "response_id": response_id,
                    "time_frame": time_frame,
                    "conditions": [
                        {"condition": s, "target_stage": stage} for s, stage in chosen.items()
                    ],
                }
            )
        except ValidationError:
            errors["conditions"] = "Choose conditions, stages and a time frame from the lists."
    if body is not None:
        limiter.hit(f"ip:{client_address(request)}", settings.rate_limit_per_minute)
        try:
            token = create_plan(session, results, body)[0]
        except InvalidRequest as exc:
            session.rollback()
            errors["conditions"] = exc.message
        else:
            return _private(RedirectResponse(f"/plans/{token}?made=1", status_code=303))
    context = _choose_context(session, results, response_id)
    page = _form_page(context, chosen, time_frame, errors)
    return render(request, "plan_new.html", page, 422)


@router.get("/teams/{team_id}/plan", response_class=HTMLResponse)
def read_new_team_plan_form(
    team_id: str, request: Request, session: SessionDep, results: ResultsDep, settings: SettingsDep
) -> Response:
    """The team's plan from its picture: as for a result, with the team's stages."""
    context = _team_choose_context(session, results, team_id, settings.team_min_members)
    chosen: dict[str, int | None] = dict.fromkeys(context["begin"])
    return render(request, "plan_new.html", _form_page(context, chosen, DEFAULT_TIME_FRAME, {}))


@router.post("/teams/{team_id}/plan", response_class=HTMLResponse)
def create_team_plan_from_form(
    team_id: str,
    request: Request,
    form: FormDep,
    session: SessionDep,
    results: ResultsDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> Response:
    threshold = settings.team_min_members
    chosen, time_frame, errors = _read_choice(form)
    if not errors:
        try:
            body = TeamPlanCreate.model_validate(
                {
                    "time_frame": time_frame,
                    "conditions": [
                        {"condition": s, "target_stage": stage} for s, stage in chosen.items()
                    ],
                }
            )
        except ValidationError:
            errors["conditions"] = "Choose conditions, stages and a time frame from the lists."
        else:
            limiter.hit(f"ip:{client_address(request)}", settings.rate_limit_per_minute)
            try:
                team = get_team(session, team_id)
                token = create_team_plan(session, results, team, body, threshold)[0]
            except InvalidRequest as exc:
                session.rollback()
                errors["conditions"] = exc.message
            else:
                return _private(RedirectResponse(f"/plans/{token}?made=1", status_code=303))
    context = _team_choose_context(session, results, team_id, threshold)
    return render(request, "plan_new.html", _form_page(context, chosen, time_frame, errors), 422)


def _plan_page_context(
    session: Session, results: Results, token: str, threshold: int
) -> tuple[PlanPublic, dict[str, Any]]:
    plan = plan_for_token(session, token)
    view = plan_view(session, results, plan, threshold)
    before, newest = latest_results(session, results, plan, threshold)
    records = plan_responses(session, plan)
    team = get_team(session, plan.team_id) if plan.team_id else None
    names = results.scorer.stage_names
    quiz = results.scorer.quiz
    states = quiz.context_question("state")
    state_code = records[-1].state if records else team.state if team else None
    state = states.option(state_code) if states and state_code else None
    prompts = {q.id: q.prompt for q in quiz.questions}
    return view, {
        "plan": view,
        "token": token,
        "chart": chart(view, names),
        "changes": since_last_time(before, newest, [c.condition for c in view.conditions]),
        "state_name": state.label if state else None,
        "time_frames": TIME_FRAMES,
        "stage_names": names,
        "prompts": prompts,
        "max_owner": MAX_OWNER,
        "latest": newest,
        "team_name": team.name if team else None,
    }


@router.get("/plans/{token}", response_class=HTMLResponse)
def read_plan_page(
    token: str, request: Request, session: SessionDep, results: ResultsDep, settings: SettingsDep
) -> Response:
    """The plan: per condition the target stage's goal, actions, milestones to check (with an
    owner and a date), strategic question, who to involve and early adopter; progress; the
    stages over time and what changed since the last check-in."""
    _, context = _plan_page_context(session, results, token, settings.team_min_members)
    context |= {
        "plan_url": f"{public_base(request, settings)}/plans/{token}",
        "made": request.query_params.get("made") == "1",
        "saved": request.query_params.get("saved") == "1",
        "errors": {},
        "fields": {},
    }
    return _private(render(request, "plan.html", context))


def _update_from_form(view: PlanPublic, form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's fields as a PlanUpdate body, and the errors of fields that cannot be read
    (each named next to its field)."""
    errors: dict[str, str] = {}
    conditions = []
    for c in view.conditions:
        target = str(form.get(f"target-{c.condition}") or c.target_stage)
        milestones = []
        for m in c.milestones:
            owner = str(form.get(f"owner-{m.id}") or "").strip()
            due_text = str(form.get(f"due-{m.id}") or "").strip()
            due = None
            if len(owner) > MAX_OWNER or any(ord(ch) < 32 or ord(ch) == 127 for ch in owner):
                errors[f"owner-{m.id}"] = (
                    f"Write a role of at most {MAX_OWNER} characters, on one line."
                )
            if due_text:
                try:
                    due = date.fromisoformat(due_text)
                    if not 2000 <= due.year <= 2100:
                        raise ValueError
                except ValueError:
                    errors[f"due-{m.id}"] = "Give a date as YYYY-MM-DD, between 2000 and 2100."
            milestones.append(
                {
                    "id": m.id,
                    "done": form.get(f"done-{m.id}") == "1",
                    "owner": owner or None,
                    "due": due.isoformat() if due else None,
                }
            )
        conditions.append(
            {
                "condition": c.condition,
                "target_stage": int(target) if target in ("1", "2", "3") else None,
                "milestones": milestones,
            }
        )
    time_frame = str(form.get("time_frame") or view.time_frame)
    if time_frame not in TIME_FRAMES:
        errors["time_frame"] = "Choose a time frame from the list."
    return {"time_frame": time_frame, "conditions": conditions}, errors


@router.post("/plans/{token}", response_class=HTMLResponse)
def update_plan_from_form(
    token: str,
    request: Request,
    form: FormDep,
    session: SessionDep,
    results: ResultsDep,
    settings: SettingsDep,
) -> Response:
    """Save the plan's form (works without JavaScript): then back to the plan, saved."""
    threshold = settings.team_min_members
    view, context = _plan_page_context(session, results, token, threshold)
    body, errors = _update_from_form(view, form)
    if not errors:
        try:
            update_plan(
                session,
                results,
                plan_for_token(session, token),
                PlanUpdate.model_validate(body),
                threshold,
            )
        except InvalidRequest as exc:
            session.rollback()
            errors["form"] = exc.message
        else:
            return _private(RedirectResponse(f"/plans/{token}?saved=1", status_code=303))
    context |= {
        "plan_url": f"{public_base(request, settings)}/plans/{token}",
        "made": False,
        "saved": False,
        "errors": errors,
        "fields": {k: str(v) for k, v in form.items()},
    }
    return _private(render(request, "plan.html", context, 422))


def _documents_content(session: Session, results: Results, token: str, threshold: int) -> Any:
    view, context = _plan_page_context(session, results, token, threshold)
    return brief_content(
        view, context["latest"], results.scorer.framework, context["state_name"], date.today()
    ), context


@router.get("/plans/{token}/brief.pdf")
def read_plan_pdf(
    token: str, request: Request, session: SessionDep, results: ResultsDep, settings: SettingsDep
) -> Response:
    """The two-page brief for a board packet, laid out by WeasyPrint on the server. Without
    its system libraries: a page that says so (503), not an error."""
    content, context = _documents_content(session, results, token, settings.team_min_members)
    html = TEMPLATES.env.get_template("plan_brief.html").render(
        content=content,
        chart=context["chart"],
        framework=results.scorer.framework,
        stage_names=results.scorer.stage_names,
    )
    try:
        pdf = pdf_brief(html)
    except DocumentsUnavailable as exc:
        page = render_error(
            request,
            503,
            exc.message + " Use “Print or save as PDF” in your browser, or download the Word "
            "memo from the plan page.",
        )
        return _private(page)
    return _private(
        Response(
            pdf,
            media_type=PDF,
            headers={"Content-Disposition": 'attachment; filename="plan-brief.pdf"'},
        )
    )


@router.get("/plans/{token}/memo.docx")
def read_plan_docx(
    token: str, session: SessionDep, results: ResultsDep, settings: SettingsDep
) -> Response:
    """The same content as an editable Word memo."""
    content, _ = _documents_content(session, results, token, settings.team_min_members)
    memo = docx_memo(content)
    return _private(
        Response(
            memo,
            media_type=DOCX,
            headers={"Content-Disposition": 'attachment; filename="plan-memo.docx"'},
        )
    )
