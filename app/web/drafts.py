"""Pages for drafts: "Save and continue later" from the quiz form, and the private link that
opens the form again as it was saved (app/plans/drafts.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.config import Settings
from app.deps import (
    LimiterDep,
    ScorerDep,
    SessionDep,
    SettingsDep,
    TokensDep,
    client_address,
)
from app.errors import AppError, NotFound
from app.http.answers import PRIVATE
from app.plans.drafts import (
    DraftContent,
    LoadedDraft,
    checked,
    create_draft,
    draft_path,
    load_draft,
    save_draft,
)
from app.teams.service import team_for_join
from app.web.embedding import EmbedDep
from app.web.pages import (
    LINK_FIELD,
    NOT_ANSWERED,
    NOTE_FIELD,
    QuizForm,
    draft_panel,
    evidence_errors,
    form_answers,
    form_errors,
    quiz_page,
    read_form,
    too_long_errors,
)
from quiz import Quiz
from scoring import Scorer, SubmissionInvalid

router = APIRouter(include_in_schema=False)

# The form as sent, read on the event loop (an async dependency), so the route can be `def`.
QuizFormDep = Annotated[QuizForm, Depends(read_form)]


def _content(quiz: Quiz, form: QuizForm) -> DraftContent:
    return DraftContent.model_validate(
        {
            "quiz_version": quiz.version,
            "answers": form_answers(quiz, form.fields),
            "context": {
                "state": form.fields.get("state") or None,
                "role": form.fields.get("role") or None,
            },
            "priorities": form.priorities,
            "team": form.fields.get("team") or None,
        }
    )


@router.post("/quiz/save", response_class=HTMLResponse)
def save_quiz_form(
    request: Request,
    form: QuizFormDep,
    session: SessionDep,
    scorer: ScorerDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    tokens: TokensDep,
    embed: EmbedDep,
) -> Response:
    """ "Save and continue later": keep the form as it is at a private link and open it there
    (303). Unanswered questions are fine; anything the form could not have sent is named next
    to its question, with everything else kept, as when sending the quiz."""
    quiz = scorer.quiz
    errors = evidence_errors(quiz, form) | too_long_errors(quiz, form)
    token = None
    if not errors:
        try:
            content = _content(quiz, form)
            token = _save(session, scorer, settings, limiter, request, form, content)
        except SubmissionInvalid as exc:
            errors = {
                k: v for k, v in form_errors(quiz, form, exc.problems).items() if v != NOT_ANSWERED
            }
        except ValidationError:
            errors = {"form": "The form could not be read: please check your answers."}
    if token is not None:
        return RedirectResponse(f"{draft_path(token)}?saved=1", status_code=303)
    kept = QuizForm({k: v for k, v in form.fields.items() if k not in errors}, form.priorities)
    panel = draft_panel(session, request, settings, form.fields)
    return quiz_page(request, scorer.framework, quiz, kept, errors, embed, tokens, 422, draft=panel)


def _save(
    session: Session,
    scorer: Scorer,
    settings: Settings,
    limiter: Any,
    request: Request,
    form: QuizForm,
    content: DraftContent,
) -> str:
    """The draft's token: the form's own draft saved again, or a new one."""
    days = settings.draft_retention_days
    checked(scorer, content, session)
    token = form.fields.get("draft")
    if token:
        try:
            save_draft(session, token, content, days)
            return token
        except NotFound:
            pass  # deleted meanwhile (or forged): kept at a new link instead
    limiter.hit(f"ip:{client_address(request)}", settings.rate_limit_per_minute)
    return create_draft(session, content, days)


@router.get("/drafts/{token}", response_class=HTMLResponse)
def read_draft_page(
    token: str,
    request: Request,
    session: SessionDep,
    scorer: ScorerDep,
    settings: SettingsDep,
    tokens: TokensDep,
    embed: EmbedDep,
) -> Response:
    """The quiz form as it was last saved at this private link."""
    quiz = scorer.quiz
    loaded, team_name = _load(session, token, settings)
    form = _form(quiz, token, loaded, team_name)
    if request.query_params.get("saved") == "1":
        form.notice = "Saved. " + (form.notice or "")
    panel = draft_panel(session, request, settings, form.fields)
    page = quiz_page(request, scorer.framework, quiz, form, {}, embed, tokens, draft=panel)
    page.headers.update(PRIVATE)
    return page


def _load(session: Session, token: str, settings: Settings) -> tuple[LoadedDraft, str | None]:
    loaded = load_draft(session, token, settings.draft_retention_days)
    team_name = None
    if loaded.content.team:
        try:
            team_name = team_for_join(session, loaded.content.team).name
        except AppError:
            team_name = ""  # closed or gone since: the answers are still the respondent's
    return loaded, team_name


def _form(quiz: Quiz, token: str, loaded: LoadedDraft, team_name: str | None) -> QuizForm:
    """The saved answers as form fields; answers to questions or options this quiz version no
    longer has are left out (and said so)."""
    content = loaded.content
    options = {(q.id, o.id) for q in quiz.questions for o in q.options}
    fields: dict[str, str] = {"draft": token}
    for answer in content.answers:
        if (answer.question_id, answer.option_id) not in options:
            continue
        fields[answer.question_id] = answer.option_id
        if answer.evidence is not None:
            if answer.evidence.note:
                fields[NOTE_FIELD + answer.question_id] = answer.evidence.note
            if answer.evidence.link:
                fields[LINK_FIELD + answer.question_id] = answer.evidence.link
    for key in ("state", "role"):
        value = getattr(content.context, key)
        if value:
            fields[key] = value
    notice = "Your saved answers are filled in. Finish when you are ready, or save again."
    if content.quiz_version != quiz.version:
        notice += (
            " The quiz has changed since they were saved, so questions that changed are left blank."
        )
    if team_name:
        fields["team"] = content.team or ""
        notice += f" You are answering as a member of the team “{team_name}”."
    elif team_name == "":
        notice += " The team these answers were for has closed: sending them now stores them on their own."
    return QuizForm(fields, list(content.priorities), notice)
