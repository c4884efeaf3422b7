"""Server-rendered pages. They call the same scoring and storage functions as the JSON API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from app.errors import AppError
from app.responses import read_response, result_url, store_response
from quiz import Framework, Quiz
from scoring import Result, Submission, SubmissionInvalid, build_result

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

router = APIRouter(include_in_schema=False)

ERROR_TITLES = {
    404: "Page not found",
    405: "That page does not accept this request",
    413: "That was too much to send",
    422: "Something in the request was not right",
    429: "Too many requests",
    500: "Something went wrong",
}
NOT_ANSWERED = "Choose the statement closest to your state, or \u201cI\u2019m not sure\u201d."


def _is_embed(request: Request) -> bool:
    return request.query_params.get("embed") == "1"


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    state = request.app.state
    base = {"framework": state.framework, "quiz": state.quiz, "embed": _is_embed(request)}
    return TEMPLATES.TemplateResponse(request, template, base | context, status_code=status_code)


def render_error(request: Request, status_code: int, message: str) -> Response:
    title = ERROR_TITLES.get(status_code, "Something went wrong")
    return render(
        request,
        "error.html",
        {"status_code": status_code, "title": title, "message": message},
        status_code,
    )


@dataclass
class StrategySection:
    slug: str
    name: str
    questions: list[Any] = field(default_factory=list)
    conditions: list[Any] = field(default_factory=list)


def quiz_sections(framework: Framework, quiz: Quiz) -> list[StrategySection]:
    """The questions grouped by strategy, in the framework's order."""
    sections = {
        s.slug: StrategySection(s.slug, s.name)
        for s in sorted(framework.strategies, key=lambda s: s.order)
    }
    for condition in framework.conditions:
        section = sections[condition.strategy]
        section.conditions.append(condition)
        section.questions.extend(quiz.questions_for(condition.slug))
    return [s for s in sections.values() if s.questions]


@router.get("/", response_class=HTMLResponse)
def read_home(request: Request) -> Response:
    """What the quiz is for, the framework in a few lines, and a start button."""
    return render(request, "home.html", {})


def _quiz_page(
    request: Request, *, answers: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Response:
    state = request.app.state
    return render(
        request,
        "quiz.html",
        {
            "sections": quiz_sections(state.framework, state.quiz),
            "answers": answers,
            "errors": errors,
            # A fresh token per form: a double-clicked or resent POST stores one response.
            "form_token": answers.get("form_token") or secrets.token_urlsafe(16),
        },
        status_code,
    )


@router.get("/quiz", response_class=HTMLResponse)
def read_quiz_form(request: Request) -> Response:
    """The quiz as a plain HTML form that works without JavaScript."""
    return _quiz_page(request, answers={}, errors={})


def _form_errors(quiz: Quiz, form: dict[str, str], problems: list[Any]) -> dict[str, str]:
    """Map problems to the form field they belong to (question id, `state`, `role`, `form`)."""
    errors: dict[str, str] = {}
    for q in quiz.questions:
        if not form.get(q.id):
            errors[q.id] = NOT_ANSWERED
    for problem in problems:
        if problem.field == "quiz_version":
            errors["form"] = (
                "The quiz changed while you were answering. Please check your answers and submit again."
            )
        elif problem.field.startswith("context."):
            errors[problem.field.removeprefix("context.")] = "Choose one of the listed options."
        elif problem.field.startswith("answers."):
            index = int(problem.field.split(".")[1])
            errors[_answered(quiz, form)[index][0]] = "Choose one of the listed statements."
    return errors


def _answered(quiz: Quiz, form: dict[str, str]) -> list[tuple[str, str]]:
    return [(q.id, form[q.id]) for q in quiz.questions if form.get(q.id)]


def _store_from_form(engine: Any, quiz: Quiz, framework: Framework, form: dict[str, str]) -> str:
    submission = Submission(
        quiz_version=form.get("quiz_version", ""),
        answers=[{"question_id": q, "option_id": o} for q, o in _answered(quiz, form)],  # type: ignore[misc]
        context={"state": form.get("state") or None, "role": form.get("role") or None},  # type: ignore[arg-type]
    )
    result = build_result(submission, quiz=quiz, framework=framework, top=len(framework.conditions))
    token = form.get("form_token") or None
    with Session(engine) as session:
        try:
            stored = store_response(
                session=session, submission=submission, result=result, idempotency_key=token
            )
        except AppError as exc:
            if exc.code != "idempotency_key_reused":
                raise
            # The visitor went back and changed answers: a new response, not a retry.
            stored = store_response(
                session=session, submission=submission, result=result, idempotency_key=None
            )
        return stored.record.id


@router.post("/quiz", response_class=HTMLResponse)
async def submit_quiz_form(request: Request) -> Response:
    """Score and store the form, then 303 to the shareable result; on problems, show the form
    again with the answers kept and each problem next to its question."""
    state = request.app.state
    quiz: Quiz = state.quiz
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str) and len(v) <= 100}
    problems: list[Any] = []
    missing = [q.id for q in quiz.questions if not form.get(q.id)]
    if not missing:
        try:
            response_id = await run_in_threadpool(
                _store_from_form, state.engine, quiz, state.framework, form
            )
        except SubmissionInvalid as exc:
            problems = exc.problems
        except ValueError as exc:  # pydantic rejected a value (e.g. an over-long field)
            raise AppError(422, "invalid_request", "The form could not be read.") from exc
        else:
            suffix = "?embed=1" if _is_embed(request) else ""
            return RedirectResponse(f"/results/{response_id}{suffix}", status_code=303)
    errors = _form_errors(quiz, form, problems)
    answers = {k: v for k, v in form.items() if k not in errors}
    return _quiz_page(request, answers=answers, errors=errors, status_code=422)


@router.get("/results/{response_id}", response_class=HTMLResponse)
def read_result_page(response_id: str, request: Request) -> Response:
    """The shareable result: a stage map, the top recommendations and the reasons."""
    state = request.app.state
    with Session(state.engine) as session:
        record = read_response(session=session, response_id=response_id)
    result = Result.model_validate(record.result)
    framework: Framework = state.framework
    by_strategy = []
    for strategy in sorted(framework.strategies, key=lambda s: s.order):
        rows = [c for c in result.conditions if c.strategy == strategy.slug]
        if rows:
            by_strategy.append((strategy, rows))
    return render(
        request,
        "result.html",
        {
            "record": record,
            "result": result,
            "top": result.recommendations[:3],
            "by_strategy": by_strategy,
            "share_url": result_url(request, state.settings.public_base_url, record.id),
            "state_name": _label(state.quiz, "state", record.state),
            "role_name": _label(state.quiz, "role", record.role),
        },
    )


def _label(quiz: Quiz, question_id: str, value: str | None) -> str | None:
    question = quiz.context_question(question_id)
    option = question.option(value) if question and value else None
    return option.label if option else None
