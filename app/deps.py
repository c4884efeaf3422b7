"""Dependencies shared by the API and the pages: the database session, content and settings.

The one way from a route to the database: a plain `def` route takes `SessionDep`, and FastAPI
runs it in its thread pool. Two kinds of route are `async` instead: what awaits the writer (a
submission, /healthz), and a read that answers from a `Cache` before any database work (a kept
page or stored response: a hit costs no thread-pool hop). Neither takes `SessionDep`; when one
needs the database it calls `in_session`, the one hand-written hop for routes.

Everything here comes from `app.state`, set once by `create_app`; routes never reach into
`app.state` themselves. The getters are `async def` on purpose: FastAPI runs a plain `def`
dependency in the thread pool, a hop that cost more than the lookup on every request.
"""

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.exceptions import HTTPException

from app.analytics.aggregates import BenchmarkCache
from app.cache import Caches
from app.config import Settings
from app.errors import InvalidRequest, UnsupportedMediaType
from app.partners.ratelimit import RateLimiter
from app.partners.webhooks import WebhookSender
from app.responses.results import Results
from app.responses.writer import Writer
from app.tokens import Tokens
from quiz import Framework, Quiz
from scoring import Scorer


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> AsyncIterator[Session]:
    """A session for one request. Made on the event loop, used by the route in the thread pool:
    a Session connects only when first used, and closing it hands its connection back to the
    pool, so neither is worth the two thread-pool hops of a plain generator dependency."""
    with Session(engine) as session:
        yield session


P = ParamSpec("P")
T = TypeVar("T")


async def in_session(
    engine: Engine,
    work: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`work(session, ...)` in the thread pool with a session of its own, closed after it: how an
    `async` route (one that answers from a cache, or awaits the writer) reaches the database."""

    def run() -> T:
        with Session(engine) as session:
            return work(session, *args, **kwargs)

    return await run_in_threadpool(run)


async def get_scorer(request: Request) -> Scorer:
    scorer: Scorer = request.app.state.scorer
    return scorer


async def get_results(request: Request) -> Results:
    results: Results = request.app.state.results
    return results


async def get_writer(request: Request) -> Writer:
    writer: Writer = request.app.state.writer
    return writer


async def get_framework(scorer: Annotated[Scorer, Depends(get_scorer)]) -> Framework:
    return scorer.framework


async def get_quiz(scorer: Annotated[Scorer, Depends(get_scorer)]) -> Quiz:
    return scorer.quiz


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def get_webhooks(request: Request) -> WebhookSender:
    sender: WebhookSender = request.app.state.webhooks
    return sender


async def get_tokens(request: Request) -> Tokens:
    tokens: Tokens = request.app.state.tokens
    return tokens


async def get_caches(request: Request) -> Caches:
    caches: Caches = request.app.state.caches
    return caches


async def get_benchmarks(request: Request) -> BenchmarkCache:
    cache: BenchmarkCache = request.app.state.benchmarks
    return cache


def client_address(request: Request) -> str:
    """The client's address: the socket peer, or what a trusted proxy says (TRUSTED_PROXIES,
    applied by uvicorn's ProxyHeadersMiddleware in create_app)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True, slots=True)
class SubmissionServices:
    """What storing a submission takes from the app, in one piece: FastAPI resolves each
    dependency of a route on every request (a few tens of µs apiece), and the submission route
    took six for these (its one dependency hands this over: app/api/routes/responses.py;
    docs/performance.md, "Submission CPU, 2026-12-02")."""

    engine: Engine
    results: Results
    writer: Writer
    settings: Settings
    limiter: RateLimiter
    webhooks: WebhookSender


async def get_submission_services(request: Request) -> SubmissionServices:
    state = request.app.state
    return SubmissionServices(
        state.engine, state.results, state.writer, state.settings, state.limiter, state.webhooks
    )


EngineDep = Annotated[Engine, Depends(get_engine)]
CachesDep = Annotated[Caches, Depends(get_caches)]
BenchmarksDep = Annotated[BenchmarkCache, Depends(get_benchmarks)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
WebhooksDep = Annotated[WebhookSender, Depends(get_webhooks)]
SessionDep = Annotated[Session, Depends(get_session)]
ScorerDep = Annotated[Scorer, Depends(get_scorer)]
ResultsDep = Annotated[Results, Depends(get_results)]
WriterDep = Annotated[Writer, Depends(get_writer)]
FrameworkDep = Annotated[Framework, Depends(get_framework)]
QuizDep = Annotated[Quiz, Depends(get_quiz)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TokensDep = Annotated[Tokens, Depends(get_tokens)]


# --- checks on what a request brings ---------------------------------------------------------

# JSON bodies only: `application/json`, in UTF-8 (RFC 8259 allows no other encoding), with
# no parameter but an optional `charset=utf-8`. Anything else, `+json` types, another charset and
# a body without a Content-Type included, is a 415, not a confusing 422 or a body read in the
# wrong encoding.


def is_json(content_type: str) -> bool:
    kind, *parameters = (part.strip().lower() for part in content_type.split(";"))
    return kind == "application/json" and all(
        p.replace(" ", "") in ("charset=utf-8", 'charset="utf-8"') for p in parameters
    )


async def require_json(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if not is_json(content_type):
        sent = f"not {content_type}" if content_type else "with a Content-Type header"
        raise UnsupportedMediaType(
            f"Send the body as application/json (UTF-8), {sent}.",
            [
                {
                    "field": "Content-Type",
                    "code": "unsupported",
                    "message": "use application/json, optionally with charset=utf-8",
                }
            ],
        )


# Text a database can store, checked once for every request before any route reads it.
#
# PostgreSQL refuses a NUL character in text (a 500 it was, on benchmarks, team names, export and
# insights filters: wherever a string reached a query), and neither database can encode half of
# a UTF-16 surrogate pair as UTF-8 (JSON can carry one as `\\ud800`). Rather than each field
# knowing this, `storable_text` runs as a dependency of every route (create_app): query
# parameters (names too), form fields and every string and key of a JSON body (path parameters
# are ids, matched against their pattern before any query: an id with a NUL is a 404);
# the first one that has such a character is a 422 naming it, in the API's shape or as a page.
# Queries, paths and forms are decoded with replacement characters, so only JSON brings a
# surrogate; a NUL can come from anywhere.
#
# The OpenAPI document says the same of every free string (app/http/openapi.py, NO_NUL_PATTERN).

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "contains a character that cannot be stored (NUL or half of a surrogate pair)"


def _problem(field: str) -> InvalidRequest:
    return InvalidRequest(
        "A value contains a character that cannot be stored; see details.",
        [{"field": field, "code": "invalid_character", "message": MESSAGE}],
    )


def _check_json(document: Any) -> None:
    """Every string and key of a parsed JSON body; a loop, not recursion, as JSON nests deep."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while pending:
        value, where = pending.pop()
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                raise _problem(".".join(where) or "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                if UNSTORABLE.search(key):
                    raise _problem(".".join([*where, key]))
                pending.append((item, (*where, key)))
        elif isinstance(value, list):
            pending.extend((item, (*where, str(n))) for n, item in enumerate(value))


async def storable_text(request: Request) -> None:
    for name, value in request.query_params.multi_items():
        if UNSTORABLE.search(name) or UNSTORABLE.search(value):
            raise _problem(f"query.{name}")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            # Kept by the request: the route reads the body again, or the form parsed here.
            await request.body()
        except RuntimeError:  # read already, as the form of a route's Form parameters
            pass
        try:
            form = await request.form()
        except HTTPException:
            return  # not a form that parses: the route says so (400, or the API's 415)
        for name, field in form.multi_items():
            if UNSTORABLE.search(name) or (isinstance(field, str) and UNSTORABLE.search(field)):
                raise _problem(name)
    elif request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()  # read already for a JSON route, kept by the request
        # A NUL can only come as an escape (raw control characters are not JSON); a surrogate
        # as an escape or raw, which the JSON parser lets through ("surrogatepass"), so only
        # bodies of plain ASCII with no escape, most of them, are not parsed a second time.
        if b"\\u" in body or not body.isascii():
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                return  # not JSON, or nested past reading: the route answers that (4xx)
            _check_json(parsed)
