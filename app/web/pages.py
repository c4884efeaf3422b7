"""Server-rendered pages. The form is stored by the same submit path as the JSON API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.deps import FrameworkDep, QuizDep, ScorerDep, SessionDep, SettingsDep
from app.errors import InvalidRequest
from app.submissions import read_response, result_url, submit
from app.web.templating import is_embed, render
from quiz import Framework, Quiz
from scoring import Problem, Result, Submission, SubmissionInvalid

router = APIRouter(include_in_schema=False)

NOT_ANSWERED = "Choose the statement closest to your state, or \u201cI\u2019m not sure\u201d."


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
    request: Request,
    framework: Framework,
    quiz: Quiz,
    *,
    answers: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "quiz.html",
        {
            "sections": quiz_sections(framework, quiz),
            "answers": answers,
            "errors": errors,
            # A fresh token per form: a double-clicked or resent POST stores one response.
            "form_token": answers.get("form_token") or secrets.token_urlsafe(16),
        },
        status_code,
    )


@router.get("/quiz", response_class=HTMLResponse)
def read_quiz_form(request: Request, framework: FrameworkDep, quiz: QuizDep) -> Response:
    """The quiz as a plain HTML form that works without JavaScript."""
    return _quiz_page(request, framework, quiz, answers={}, errors={})


def _answered(quiz: Quiz, form: dict[str, str]) -> list[tuple[str, str]]:
    return [(q.id, form[q.id]) for q in quiz.questions if form.get(q.id)]


def _form_errors(quiz: Quiz, form: dict[str, str], problems: list[Problem]) -> dict[str, str]:
    """Map problems to the form field they belong to (question id, `state`, `role`, `form`)."""
    errors = {q.id: NOT_ANSWERED for q in quiz.questions if not form.get(q.id)}
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


def _submission_from_form(quiz: Quiz, form: dict[str, str]) -> Submission:
    try:
        return Submission.model_validate(
            {
                "quiz_version": form.get("quiz_version", ""),
                "answers": [{"question_id": q, "option_id": o} for q, o in _answered(quiz, form)],
                "context": {"state": form.get("state") or None, "role": form.get("role") or None},
            }
        )
    except ValidationError as exc:
        raise InvalidRequest("The form could not be read.") from exc


@router.post("/quiz", response_class=HTMLResponse)
async def submit_quiz_form(request: Request, session: SessionDep, scorer: ScorerDep) -> Response:
    """Score and store the form, then 303 to the shareable result; on problems, show the form
    again with the answers kept and each problem next to its question."""
    quiz = scorer.quiz
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str) and len(v) <= 100}
    problems: list[Problem] = []
    if all(form.get(q.id) for q in quiz.questions):
        try:
            submitted = await run_in_threadpool(
                submit,
                session=session,
                scorer=scorer,
                submission=_submission_from_form(quiz, form),
                idempotency_key=form.get("form_token") or None,
                on_key_reuse="new",  # the visitor went back and changed answers
            )
        except SubmissionInvalid as exc:
            problems = exc.problems
        else:
            suffix = "?embed=1" if is_embed(request) else ""
            return RedirectResponse(f"/results/{submitted.id}{suffix}", status_code=303)
    errors = _form_errors(quiz, form, problems)
    answers = {k: v for k, v in form.items() if k not in errors}
    return _quiz_page(
        request, scorer.framework, quiz, answers=answers, errors=errors, status_code=422
    )


@router.get("/results/{response_id}", response_class=HTMLResponse)
def read_result_page(
    response_id: str,
    request: Request,
    session: SessionDep,
    framework: FrameworkDep,
    quiz: QuizDep,
    settings: SettingsDep,
) -> Response:
    """The shareable result: a stage map, the top recommendations and the reasons."""
    record = read_response(session=session, response_id=response_id)
    result = Result.model_validate(record.result)
    by_strategy = []
    for strategy in sorted(framework.strategies, key=lambda s: s.order):
        rows = [c for c in result.conditions if c.strategy == strategy.slug]
        if rows:
            by_strategy.append((strategy, rows))
    share_url = result_url(str(request.base_url), settings.public_base_url, record.id)
    return render(
        request,
        "result.html",
        {
            "record": record,
            "result": result,
            "top": result.recommendations[:3],
            "by_strategy": by_strategy,
            "share_url": share_url,
            "state_name": _label(quiz, "state", record.state),
            "role_name": _label(quiz, "role", record.role),
        },
    )


def _label(quiz: Quiz, question_id: str, value: str | None) -> str | None:
    question = quiz.context_question(question_id)
    option = question.option(value) if question and value else None
    return option.label if option else None
