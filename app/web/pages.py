"""Server-rendered pages. The form is stored by the same submit path as the JSON API."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.analytics.aggregates import BenchmarkCache
from app.cache import CachePolicy
from app.config import Settings
from app.deps import (
    BenchmarksDep,
    CachesDep,
    EngineDep,
    FrameworkDep,
    LimiterDep,
    QuizDep,
    ResultsDep,
    ScorerDep,
    SessionDep,
    SettingsDep,
    TokensDep,
    WebhooksDep,
    WriterDep,
    client_address,
    in_session,
)
from app.errors import IdempotencyKeyReused, InvalidRequest, NotFound
from app.http.answers import HTML, PRIVATE, Built, Tagged, TokenPage, with_length
from app.http.kept import Kept, keeps
from app.models import ResponseRecord, Team
from app.partners.ratelimit import all_of
from app.partners.webhooks import result_summary
from app.plans.drafts import draft_path, expires_at, load_draft, mark_sent
from app.plans.plans import plan_for_token, record_check_in
from app.responses.results import Results
from app.responses.submissions import Submitted, public_base, read_response, result_url, submit
from app.teams.service import team_for_join
from app.tokens import Tokens
from app.web.embedding import Embed, EmbedDep
from app.web.templating import render
from quiz import Framework, Quiz
from scoring import Problem, Submission, SubmissionInvalid, changes
from scoring.changes import headline as changes_headline
from scoring.models import EVIDENCE_LINK_PATTERN, EVIDENCE_MAX

router = APIRouter(include_in_schema=False)

NOT_ANSWERED = "Choose the statement closest to your state, or \u201cI\u2019m not sure\u201d."


@dataclass
class StrategySection:
    slug: str
    name: str
    questions: list[Any] = field(default_factory=list)
    conditions: list[Any] = field(default_factory=list)


def quiz_sections(framework: Framework, quiz: Quiz) -> list[StrategySection]:
    """The questions grouped by strategy (a grouping of ours, labelled as such on the page)."""
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
async def read_home(request: Request) -> Response:
    """What the quiz is for, the framework in a few lines, and a start button."""
    return render(request, "home.html", {})


@dataclass
class QuizForm:
    """What the form holds: one field per question and context question, plus priorities."""

    fields: dict[str, str] = field(default_factory=dict)
    priorities: list[str] = field(default_factory=list)
    # Shown above the form, e.g. when it was prefilled from an earlier result.
    notice: str | None = None
    # Fields sent with more than MAX_FIELD characters: refused and named, never cut silently.
    too_long: list[str] = field(default_factory=list)


MAX_FIELD = 100
TOO_LONG = (
    f"This value is too long (at most {MAX_FIELD} characters); choose one of the listed options."
)


def quiz_page(
    request: Request,
    framework: Framework,
    quiz: Quiz,
    form: QuizForm,
    errors: dict[str, str],
    embed: Embed,
    tokens: Tokens,
    status_code: int = 200,
    form_token: str | None = None,
    draft: dict[str, Any] | None = None,
) -> Response:
    """The form; `form_token` only for the page rendered once with a slot for its token;
    `draft` for a form opened from its private link (app/web/drafts.py)."""
    page = render(
        request,
        "quiz.html",
        {
            "embed_query": embed.query(),
            "parent_origin": embed.parent_origin,
            "sections": quiz_sections(framework, quiz),
            "answers": form.fields,
            "priorities": form.priorities,
            "notice": form.notice,
            "errors": errors,
            # A fresh token per form (one the form came back with, when it is ours): a
            # double-clicked or resent POST stores one response (app/tokens.py).
            "form_token": form_token
            or tokens.issued_form(form.fields.get("form_token"))
            or tokens.form(),
            # Inside a partner's embed: what attributes the answers to the partner.
            "embed_token": tokens.embed(attributed.slug)
            if (attributed := embed.attributed)
            else None,
            "preview_note": PREVIEW_NOTE.format(name=embed.partner.name)
            if embed.preview and embed.partner
            else None,
            # Saving for later is for the site's own quiz: an embed's visitor is the partner's.
            "can_save": not embed.parent_origin and embed.partner is None,
            "retention_days": request.app.state.settings.draft_retention_days,
            "draft": draft,
        },
        status_code,
    )
    return embed.allow_framing(page)


PREVIEW_NOTE = (
    "Preview on our site: what you send from here is stored as any visitor's answers, not "
    "counted for {name}."
)


TOKEN_SLOT = "form-token-slot-000000"  # where the kept page's token goes, fresh each time
# The most requested page, rendered once per process (it changes only with a deployment); each
# answer gets a fresh form token.
PLAIN_QUIZ_PAGE = CachePolicy("the plain quiz page", max_items=1)


def _token_page_answer(page: TokenPage, request: Request) -> Built:
    body = page.body()
    return Built(200, with_length([HTML], body), body)


PLAIN_QUIZ: Kept[TokenPage] = Kept(PLAIN_QUIZ_PAGE, lambda request, _: None, _token_page_answer)


def _plain_quiz_page(
    request: Request, framework: Framework, quiz: Quiz, embed: Embed, tokens: Tokens
) -> TokenPage:
    """The quiz page without a query, rendered with a slot where each answer's token goes."""
    answer = quiz_page(
        request, framework, quiz, QuizForm(), {}, embed, tokens, form_token=TOKEN_SLOT
    )
    return TokenPage.of(bytes(answer.body), TOKEN_SLOT, tokens.form)


@router.get("/quiz", response_class=HTMLResponse)
@keeps(PLAIN_QUIZ)
async def read_quiz_form(
    request: Request,
    framework: FrameworkDep,
    quiz: QuizDep,
    engine: EngineDep,
    results: ResultsDep,
    embed: EmbedDep,
    tokens: TokensDep,
    caches: CachesDep,
    from_id: Annotated[str | None, Query(alias="from")] = None,
    state: str | None = None,
    role: str | None = None,
    team: str | None = None,
    plan: str | None = None,
    check_in: str | None = None,
) -> Response:
    """The quiz as a plain HTML form that works without JavaScript; `?from=ID` fills it in with
    the answers of an earlier result, to change them or add priorities; `?state=` and `?role=`
    (from an embed's data attributes) preselect the context questions. `?from=ID&plan=TOKEN`
    is a plan's "Check in again": the new response is based on ID and belongs to the plan;
    `?from=ID&check_in=1`, the result page's, only links it to ID. The plain page (no query)
    is rendered once and kept (`PLAIN_QUIZ`: after the first, the layer before routing
    answers it); a form with a query is made through `in_session`."""
    if not request.url.query:
        page = PLAIN_QUIZ.find(request, caches) or PLAIN_QUIZ.keep(
            request, caches, "", _plain_quiz_page(request, framework, quiz, embed, tokens)
        )
        return page.response()
    asked = FormQuery(from_id, state, role, team, plan, check_in)
    form = await in_session(engine, _form_for, quiz, results, asked)
    filled = quiz_page(request, framework, quiz, form, {}, embed, tokens)
    if from_id or team or plan:
        # Someone's answers filled in, or a team's or plan's token in a hidden field.
        filled.headers.update(PRIVATE)
    return filled


@dataclass(frozen=True)
class FormQuery:
    """What the quiz page's query asks for (read_quiz_form)."""

    from_id: str | None
    state: str | None
    role: str | None
    team: str | None
    plan: str | None
    check_in: str | None


def _form_for(session: Session, quiz: Quiz, results: Results, asked: FormQuery) -> QuizForm:
    from_id = asked.from_id
    form = QuizForm() if from_id is None else _prefill(quiz, session, results, from_id)
    if asked.team:
        joined = team_for_join(session, asked.team)
        form.fields["team"] = asked.team
        form.notice = (
            f"You are answering as a member of the team “{joined.name}”. No names are asked, "
            "and the team's page never shows who gave which answer."
        )
    if asked.plan and from_id is not None:
        plan_for_token(session, asked.plan)
        form.fields |= {"plan": asked.plan, "based_on": from_id}
        form.notice = (
            "You are checking in on your plan: your latest answers are filled in. Change what "
            "has moved and submit; the earlier results stay as they were."
        )
    elif asked.check_in == "1" and from_id is not None:
        form.fields["based_on"] = from_id
        form.notice = (
            "You are checking in again: your earlier answers are filled in. Change what has "
            "moved and submit; the new result is linked to the earlier one, which stays as it was."
        )
    for question_id, value in (("state", asked.state), ("role", asked.role)):
        question = quiz.context_question(question_id)
        if value and question is not None and question.option(value) is not None:
            form.fields.setdefault(question_id, value)
    return form


def _prefill(quiz: Quiz, session: Session, results: Results, response_id: str) -> QuizForm:
    record = read_response(session=session, response_id=response_id)
    # An answer of an older quiz version is kept only where its question and option still
    # read the same: an option id that stayed while its wording changed is left blank.
    earlier = (
        results.scorer_for(session, record.content_hash).quiz
        if record.quiz_version != quiz.version and record.content_hash is not None
        else None
    )
    fields = stored_fields(quiz, record, earlier)
    notice = "Your earlier answers are filled in. Change any of them, or choose priorities, and submit to see your list again."
    if record.quiz_version != quiz.version:
        notice += " The quiz has changed since then, so questions that changed are left blank."
    return QuizForm(fields, list(record.result.get("priorities", [])), notice)


def stored_fields(
    quiz: Quiz, record: ResponseRecord, earlier: Quiz | None = None
) -> dict[str, str]:
    """A stored response's answers, with their notes and links, and context as form fields;
    answers to questions or options this quiz version no longer has, or words differently than
    `earlier` (the quiz the answers were given to), are left out."""
    options = {(q.id, o.id) for q in quiz.questions for o in q.options}
    if earlier is not None:
        now = {(q.id, o.id): (q.prompt, o.label) for q in quiz.questions for o in q.options}
        options = {
            (q.id, o.id)
            for q in earlier.questions
            for o in q.options
            if now.get((q.id, o.id)) == (q.prompt, o.label)
        }
    fields: dict[str, str] = {}
    for a in record.answers:
        if (a.get("question_id"), a.get("option_id")) not in options:
            continue
        fields[a["question_id"]] = a["option_id"]
        for key, prefix in (("note", NOTE_FIELD), ("link", LINK_FIELD)):
            if value := (a.get("evidence") or {}).get(key):
                fields[prefix + a["question_id"]] = value
    return fields | {k: v for k, v in (("state", record.state), ("role", record.role)) if v}


def _answered(quiz: Quiz, fields: dict[str, str]) -> list[tuple[str, str]]:
    return [(q.id, fields[q.id]) for q in quiz.questions if fields.get(q.id)]


def form_errors(quiz: Quiz, form: QuizForm, problems: list[Problem]) -> dict[str, str]:
    """Map problems to the form field they belong to (question id, `state`, `role`,
    `priorities`, `form`)."""
    errors = {q.id: NOT_ANSWERED for q in quiz.questions if not form.fields.get(q.id)}
    for problem in problems:
        if problem.field == "quiz_version":
            errors["form"] = (
                "The quiz changed while you were answering. Please check your answers and submit again."
            )
        elif problem.field.startswith("context."):
            errors[problem.field.removeprefix("context.")] = "Choose one of the listed options."
        elif problem.field == "priorities":
            errors["priorities"] = f"Choose at most {quiz.priorities.max_choices} conditions."
        elif problem.field.startswith("priorities."):
            errors["priorities"] = "Choose only from the listed conditions."
        elif problem.field.startswith("answers."):
            index = int(problem.field.split(".")[1])
            errors[_answered(quiz, form.fields)[index][0]] = "Choose one of the listed statements."
    return errors


NOTE_FIELD, LINK_FIELD = "note-", "link-"
LINK_RULE = re.compile(EVIDENCE_LINK_PATTERN)
BAD_LINK = "Give a web address starting with http:// or https://, as your browser shows it."
NOTE_TOO_LONG = f"Keep the note to {EVIDENCE_MAX} characters or fewer."
EVIDENCE_NEEDS_ANSWER = "Choose a statement for this question to keep its note or link."


def _evidence(fields: dict[str, str], question_id: str) -> dict[str, str]:
    """The note and link given for one question, empty ones left out."""
    given = {
        "note": fields.get(NOTE_FIELD + question_id, "").strip(),
        "link": fields.get(LINK_FIELD + question_id, "").strip(),
    }
    return {k: v for k, v in given.items() if v}


def evidence_errors(quiz: Quiz, form: QuizForm) -> dict[str, str]:
    """A problem with a note or link, keyed `evidence-<question id>`: checked here, before the
    submission's model, so that the form can say which and keep everything else."""
    errors: dict[str, str] = {}
    for q in quiz.questions:
        given = _evidence(form.fields, q.id)
        if not given:
            continue
        if len(given.get("note", "")) > EVIDENCE_MAX:
            errors["evidence-" + q.id] = NOTE_TOO_LONG
        elif "link" in given and (
            len(given["link"]) > EVIDENCE_MAX or not LINK_RULE.fullmatch(given["link"])
        ):
            errors["evidence-" + q.id] = BAD_LINK
        elif not form.fields.get(q.id):
            errors["evidence-" + q.id] = EVIDENCE_NEEDS_ANSWER
    return errors


def form_answers(quiz: Quiz, fields: dict[str, str]) -> list[dict[str, Any]]:
    """The answered questions as a submission's answers, each with its note and link."""
    answers: list[dict[str, Any]] = []
    for q, o in _answered(quiz, fields):
        answer: dict[str, Any] = {"question_id": q, "option_id": o}
        given = _evidence(fields, q)
        if given:
            answer["evidence"] = given
        answers.append(answer)
    return answers


def _submission(quiz: Quiz, form: QuizForm) -> Submission:
    try:
        return Submission.model_validate(
            {
                "quiz_version": form.fields.get("quiz_version", ""),
                "answers": form_answers(quiz, form.fields),
                "context": {
                    "state": form.fields.get("state") or None,
                    "role": form.fields.get("role") or None,
                },
                "priorities": form.priorities,
                "based_on": form.fields.get("based_on") or None,
                "team": form.fields.get("team") or None,
            }
        )
    except ValidationError as exc:
        raise InvalidRequest("The form could not be read.") from exc


def _limit(name: str) -> int:
    return EVIDENCE_MAX if name.startswith((NOTE_FIELD, LINK_FIELD)) else MAX_FIELD


async def read_form(request: Request) -> QuizForm:
    raw = await request.form()
    values = [(k, v) for k, v in raw.multi_items() if isinstance(v, str)]
    too_long = sorted({k for k, v in values if len(v) > _limit(k)})
    fields = {k: v for k, v in values if k != "priority" and k not in too_long}
    chosen = [v for k, v in values if k == "priority" and len(v) <= MAX_FIELD]
    return QuizForm(fields, chosen[:20], too_long=too_long)


def too_long_errors(quiz: Quiz, form: QuizForm) -> dict[str, str]:
    """Each over-long field as an error next to its question (or above the form)."""
    known = {q.id for q in quiz.questions} | {"state", "role"}
    errors: dict[str, str] = {}
    for name in form.too_long:
        if name.startswith(NOTE_FIELD):
            errors["evidence-" + name.removeprefix(NOTE_FIELD)] = NOTE_TOO_LONG
            continue
        if name.startswith(LINK_FIELD):
            errors["evidence-" + name.removeprefix(LINK_FIELD)] = BAD_LINK
            continue
        key = name if name in known else "priorities" if name == "priority" else "form"
        errors[key] = TOO_LONG
    return errors


@router.post("/quiz", response_class=HTMLResponse)
async def submit_quiz_form(
    request: Request,
    engine: EngineDep,
    scorer: ScorerDep,
    results: ResultsDep,
    writer: WriterDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    webhooks: WebhooksDep,
    embed: EmbedDep,
    tokens: TokensDep,
) -> Response:
    """Score and store the form, then 303 to the shareable result; on problems, show the form
    again with the answers kept and each problem next to its question. Inside a partner's
    embed, a form with the embed token the page was given is attributed to the partner
    (`widget`) and counted against the partner's limit as well as the address's; without it
    (forged, stale, another partner's), the form comes back to be sent again."""
    quiz = scorer.quiz
    form = await read_form(request)
    problems: list[Problem] = []
    refused: dict[str, str] = {}
    admit = limiter.admission(f"ip:{client_address(request)}", settings.rate_limit_per_minute)
    partner = embed.attributed
    if partner is not None and not tokens.embed_ok(form.fields.get("embed_token"), partner.slug):
        # Refused, not stored unattributed: the visitor answered inside the partner's frame
        # and is counted for the partner by sending again (the page has a fresh token); a
        # forger gets nothing stored.
        refused["form"] = EMBED_AGAIN.format(name=partner.name)
    elif (
        not form.too_long
        and all(form.fields.get(q.id) for q in quiz.questions)
        and not evidence_errors(quiz, form)
    ):
        submission = _submission(quiz, form)
        if partner is not None:
            submission = submission.model_copy(update={"partner": partner.slug})
            widget = limiter.admission(f"widget:{partner.id}", partner.rate_limit_per_minute)
            admit = all_of(admit, widget)
        store = partial(
            submit,
            engine=engine,
            results=results,
            writer=writer,
            admit=admit,
            partner=partner,
            attribution="widget" if partner is not None else None,
            ref=embed.ref if partner is not None else None,
            base_url=public_base(request, settings),
        )
        try:
            submitted = await _store_keeping_edits(
                store, submission, form_key(tokens.issued_form(form.fields.get("form_token")))
            )
        except SubmissionInvalid as exc:
            problems = exc.problems
        except IdempotencyKeyReused as exc:
            # Only when the edit's own key was used for other answers: nothing else is stored.
            return _already_submitted(request, exc.response_id, embed)
        else:
            if submitted.webhook:
                webhooks.wake()
            if draft_token := form.fields.get("draft"):
                await in_session(
                    engine, mark_sent, draft_token, submitted.id, settings.draft_retention_days
                )
            # `completed` tells the embedded result page to announce itself to the partner.
            done = {"completed": "1"} if embed.parent_origin else {}
            location = f"/results/{submitted.id}{embed.query(**done)}"
            if plan_token := form.fields.get("plan"):
                # A plan's check-in: it joins the plan, which shows what changed. The response
                # is stored either way: a plan link gone wrong only leaves it unlinked.
                try:
                    # Its own write with its own commit, after the submission's (app/plans/):
                    # it does not go through the writer.
                    await in_session(engine, record_check_in, plan_token, submitted.id)
                except NotFound:
                    pass
                else:
                    location = f"/plans/{plan_token}#history"
            return RedirectResponse(location, status_code=303)
    errors = (
        form_errors(quiz, form, problems)
        | evidence_errors(quiz, form)
        | too_long_errors(quiz, form)
        | refused
    )
    kept = QuizForm({k: v for k, v in form.fields.items() if k not in errors}, form.priorities)
    if "priorities" in errors:
        kept.priorities = [p for p in form.priorities if p in scorer.conditions]
    return quiz_page(
        request,
        scorer.framework,
        quiz,
        kept,
        errors,
        embed,
        tokens,
        status_code=422,
        draft=await in_session(engine, draft_panel, request, settings, form.fields)
        if form.fields.get("draft")
        else None,
    )


def draft_panel(
    session: Session, request: Request, settings: Settings, fields: dict[str, str]
) -> dict[str, Any] | None:
    """The private link's panel for a form that came from a draft (its `draft` field)."""
    token = fields.get("draft")
    if not token:
        return None
    try:
        loaded = load_draft(session, token, settings.draft_retention_days)
    except NotFound:
        return None
    return {
        "token": token,
        "url": public_base(request, settings) + draft_path(token),
        "expires_at": expires_at(loaded.updated_at, settings.draft_retention_days),
        "retention_days": settings.draft_retention_days,
        "response_id": loaded.response_id,
    }


EMBED_AGAIN = (
    "We could not confirm that this form came from {name}'s quiz page (it may have been open "
    "for more than a day). Your answers are kept: please send your answers again."
)


async def _store_keeping_edits(
    store: Callable[..., Awaitable[Submitted]], submission: Submission, key: str | None
) -> Submitted:
    """Store a form once per form token. Sent again after Back with an answer changed, the
    edit is kept as a new response linked to the first (which never changes), under a key of
    the form's and the edit's own, so a double click on the edited form still stores it once."""
    try:
        return await store(submission=submission, idempotency_key=key, key_kind="form")
    except IdempotencyKeyReused as exc:
        if exc.response_id is None or key is None:
            raise
        edited = submission.model_copy(update={"based_on": exc.response_id})
        return await store(
            submission=edited, idempotency_key=edit_key(key, edited), key_kind="form"
        )


def form_key(token: str | None) -> str | None:
    """The idempotency key of a form: its token, when the server issued it (app/tokens.py; a
    client cannot choose one, so it cannot pick another visitor's), stored under a kind of its
    own (`key_kind="form"`), so that a form cannot name a key an API client chose either."""
    return f"form:{token}" if token else None


def edit_key(key: str, edited: Submission) -> str:
    """The key of one edit of a form: the form's key and a digest of what the edit sends."""
    digest = hashlib.sha256(edited.model_dump_json().encode()).hexdigest()[:32]
    return f"{key}:edit:{digest}"


def _already_submitted(request: Request, response_id: str | None, embed: Embed) -> Response:
    """Only when one edit's own key comes back with other answers (a forged form): points to
    what that key stored and to a fresh form with those answers; nothing new is stored."""
    page = render(
        request,
        "already_submitted.html",
        {
            "response_id": response_id,
            "embed_query": embed.query(),
            "parent_origin": embed.parent_origin,
        },
        status_code=409,
    )
    return embed.allow_framing(page)


def result_page_key(request: Request, response_id: str) -> tuple[str, ...]:
    """What a kept result page depends on: the result, the query (an embed, `completed`) and
    the base its share link is made on."""
    settings: Settings = request.app.state.settings
    return (response_id, request.url.query, public_base(request, settings))


def _result_page_answer(page: Tagged, request: Request) -> Built:
    return page.built(request.scope, HTML, b"private, max-age=60")


# Rendered result pages, for a minute: as long as the peer figures they show (BENCHMARKS).
RESULT_PAGES = CachePolicy("result pages", max_items=256, ttl=60.0)
RESULT_PAGE: Kept[Tagged] = Kept(RESULT_PAGES, result_page_key, _result_page_answer)


@router.get("/results/{response_id}", response_class=HTMLResponse)
@keeps(RESULT_PAGE)
async def read_result_page(
    response_id: str,
    request: Request,
    engine: EngineDep,
    results: ResultsDep,
    settings: SettingsDep,
    embed: EmbedDep,
    peers: BenchmarksDep,
    caches: CachesDep,
) -> Response:
    """The shareable result, rendered from the result exactly as it was stored: a stage map, the
    list to begin with and the reasons. Results stored under older quiz versions render too.
    In a partner's embed, `completed=1` (set by the form's redirect) tells the partner's page.
    A rendered page is kept for a minute (`RESULT_PAGE`, as long as the peer figures it shows);
    only a miss renders, through `in_session`."""
    built = RESULT_PAGE.find(request, caches, response_id)
    if built is None:
        body = await in_session(
            engine, _result_page, request, results, settings, embed, peers, response_id
        )
        built = RESULT_PAGE.keep(request, caches, response_id, Tagged.of(body))
    return embed.allow_framing(built.response())


def _result_page(
    session: Session,
    request: Request,
    results: Results,
    settings: Settings,
    embed: Embed,
    peers: BenchmarkCache,
    response_id: str,
) -> bytes:
    quiz = results.scorer.quiz
    completed = request.query_params.get("completed")
    record = read_response(session=session, response_id=response_id)
    result = results.full(session, record)
    # The questions as this response was asked them (its own content version).
    asked = results.scorer_for(session, record.content_hash).quiz if record.content_hash else quiz
    team = session.get(Team, record.team_id) if record.team_id else None
    peer_figures = peers.get(session, record.quiz_version, settings.min_group_size)
    state_peers = (
        peers.get(session, record.quiz_version, settings.min_group_size, record.state)
        if record.state
        else {}
    )
    recommendations = result["recommendations"]
    chosen = set(result.get("begin_here", []))
    begin = [r for r in recommendations if r["slug"] in chosen] or recommendations[:3]
    own_url = result_url(public_base(request, settings), record.id)
    share_url = embed.shared(record.id, own_url)
    state_name = _label(quiz, "state", record.state)
    compared = [("all respondents", peer_figures)]
    if state_name:
        compared.append((f"respondents for {state_name}", state_peers))
    page = render(
        request,
        "result.html",
        {
            "embed_query": embed.query(),
            "parent_origin": embed.parent_origin,
            "completed_event": _completed_event(record.id, own_url, result)
            if completed == "1" and embed.parent_origin
            else None,
            # Every time a result is shown in the frame (after the quiz, or followed back to).
            "result_event": {"id": record.id, "result_url": own_url, "share_url": share_url}
            if embed.parent_origin
            else None,
            "record": record,
            "result": result,
            "begin": begin,
            "headline": result.get("headline", "begin"),
            "by_strategy": _by_strategy(results.scorer.framework, result["conditions"]),
            "peers": peer_figures,
            "state_peers": state_peers,
            "min_group_size": settings.min_group_size,
            "share_url": share_url,
            "state_name": state_name,
            "role_name": _label(quiz, "role", record.role),
            "summary": [summary_line(r) for r in begin],
            "answers_given": answers_given(asked, record.answers),
            "unsure_in": unsure_conditions(asked, record.answers),
            "too_few_peers": too_few_line(
                compared, [c["slug"] for c in result["conditions"]], settings.min_group_size
            ),
            "team_name": team.name if team else None,
        },
    )
    return bytes(page.body)


def summary_line(r: dict[str, Any]) -> str:
    """One line on why a condition is on the list, from the rule that placed it."""
    if r["focus"] == "confirm" and r.get("confidence") == "unanswered":
        return "Not answered: confirm where your state stands first."
    if r["focus"] == "confirm":
        return "You were not sure where your state stands: confirm it first."
    if r["focus"] == "sustain":
        return "At the last stage: sustain it and keep improving."
    next_stage = r.get("next_stage") or {}
    step = f"next, {next_stage['name']}" if next_stage.get("name") else "the next stage"
    basis = {
        "stage": "its stage places it here",
        # Scoring 3.0: readiness, and which steps build on which (links of our reading).
        "dependency": "placed by which next steps build on which (links of our reading)",
        "tie": "equal with others: nothing in your answers or priorities separates them",
        "priority": "one of your priorities, so it comes before others at the same stage"
        if r.get("prioritized")
        else "others at the same stage are your priorities, so they come first",
        "progress": "ordered among others at its stage by how far your answers go past it",
        "sequence": "tied with others at its stage; our own suggested sequence put it here",
    }.get(r.get("order_basis", "stage"), "its stage places it here")
    if r.get("prioritized") and r.get("order_basis") != "priority":
        basis += " (one of your priorities)"
    return f"{step}; {basis}."


def answers_given(quiz: Quiz, answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored answers in the quiz's order, each with its prompt, the statement chosen and
    any note or link; an answer this content version does not know is listed by its ids."""
    by_id = {a.get("question_id"): a for a in answers}
    listed: list[dict[str, Any]] = []
    for q in quiz.questions:
        answer = by_id.pop(q.id, None)
        if answer is None:
            continue
        option = next((o for o in q.options if o.id == answer.get("option_id")), None)
        listed.append(
            {
                "question_id": q.id,
                "prompt": q.prompt,
                "label": option.label if option else answer.get("option_id"),
                "evidence": answer.get("evidence") or {},
            }
        )
    for question_id, answer in by_id.items():
        listed.append(
            {
                "question_id": question_id,
                "prompt": question_id,
                "label": answer.get("option_id"),
                "evidence": answer.get("evidence") or {},
            }
        )
    return listed


def unsure_conditions(quiz: Quiz, answers: list[dict[str, Any]]) -> set[str]:
    """The conditions with an "I'm not sure" among their answers: scoring sets such an answer
    aside, so a stage shown for one of them comes from its other answers only, and the page
    says so beside it."""
    questions = {q.id: q for q in quiz.questions}
    found = set()
    for answer in answers:
        question = questions.get(answer.get("question_id", ""))
        option = question.option(answer.get("option_id", "")) if question else None
        if question is not None and option is not None and option.stage is None:
            found.add(question.condition)
    return found


def too_few_line(
    compared: list[tuple[str, dict[str, Any]]], slugs: list[str], min_group_size: int
) -> str | None:
    """The one line that says where peer figures are left out, instead of one per condition."""
    parts = []
    for who, figures in compared:
        missing = sum(1 for slug in slugs if (p := figures.get(slug)) is None or p.suppressed)
        if missing:
            where = f"all {missing}" if missing == len(slugs) else f"{missing} of {len(slugs)}"
            parts.append(f"{who} (on {where} conditions)")
    if not parts:
        return None
    return (
        f"Too few responses to compare with {' or with '.join(parts)}: groups of fewer than "
        f"{min_group_size} responses are not shown."
    )


@router.get("/results/{response_id}/what-if", response_class=HTMLResponse)
def read_what_if(
    response_id: str,
    request: Request,
    session: SessionDep,
    results: ResultsDep,
    embed: EmbedDep,
    tokens: TokensDep,
) -> Response:
    """What if…? The stored answers and priorities in a form; with changed ones in the query
    (the form's GET), the new result side by side with the stored one: each condition's stage
    and rank then and now, and the new "Begin here". Nothing is stored; "Save this version"
    posts the changed answers to the quiz as a new response based on this one."""
    stored, form = _stored_for_what_if(session, results, response_id)
    scorer = results.scorer
    asked = request.query_params
    comparison = None
    errors: dict[str, str] = {}
    if any(q.id in asked for q in scorer.quiz.questions) or "priority" in asked:
        form = QuizForm(
            {q.id: asked[q.id] for q in scorer.quiz.questions if asked.get(q.id)}
            | {k: v for k in ("state", "role") if (v := form.fields.get(k))},
            asked.getlist("priority")[:20],
        )
        try:
            versioned = QuizForm(
                form.fields | {"quiz_version": scorer.quiz.version}, form.priorities
            )
            result = scorer.score(_submission(scorer.quiz, versioned))
        except SubmissionInvalid as exc:
            errors = form_errors(scorer.quiz, form, exc.problems)
            errors = {k: v for k, v in errors.items() if v != NOT_ANSWERED}
        else:
            found = changes(stored, result)
            comparison = {
                "changes": found,
                "summary": changes_headline(found),
                "begin_order": result.begin_here,
            }
    page = render(
        request,
        "whatif.html",
        {
            "response_id": response_id,
            "embed_query": embed.query(),
            # Where its events (and height) go: before, the what-if page told the host nothing.
            "parent_origin": embed.parent_origin,
            # The GET form keeps the page in the same embed (partner, where events go).
            "embed_fields": embed.fields(),
            "sections": quiz_sections(scorer.framework, scorer.quiz),
            "answers": form.fields,
            "priorities": form.priorities,
            "errors": errors,
            "comparison": comparison,
            "stored_begin": stored.get("begin_here")
            or [r["slug"] for r in stored["recommendations"][:3]],
            "names": {c.slug: c.name for c in scorer.framework.conditions},
            "form_token": tokens.form(),
            # "Save this version" inside a partner's embed is the partner's, as the quiz is.
            "embed_token": tokens.embed(embed.partner.slug) if embed.partner else None,
        },
        status_code=422 if errors else 200,
    )
    return embed.allow_framing(page)


def _stored_for_what_if(
    session: Session, results: Results, response_id: str
) -> tuple[dict[str, Any], QuizForm]:
    record = read_response(session=session, response_id=response_id)
    stored = results.full(session, record)
    fields = stored_fields(results.scorer.quiz, record)
    return stored, QuizForm(fields, list(stored.get("priorities", [])))


def _completed_event(response_id: str, url: str, result: dict[str, Any]) -> dict[str, Any]:
    """The detail of `statequiz:completed`: the same fields as the webhook's event."""
    return {"id": response_id, "result_url": url, **result_summary(result)}


def _by_strategy(
    framework: Framework, conditions: list[dict[str, Any]]
) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Stored condition rows grouped under their (stored) strategy, in the strategies' order."""
    order = {s.slug: s.order for s in framework.strategies}
    groups: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for c in conditions:
        groups.setdefault(c["strategy"], (c["strategy_name"], []))[1].append(c)
    slugs = sorted(groups, key=lambda slug: order.get(slug, len(order) + 1))
    return [(slug, groups[slug][0], groups[slug][1]) for slug in slugs]


def _label(quiz: Quiz, question_id: str, value: str | None) -> str | None:
    question = quiz.context_question(question_id)
    option = question.option(value) if question and value else None
    return option.label if option else None
