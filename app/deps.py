"""Dependencies shared by the API and the pages: the database session, content and settings.

The one way from a route to the database: a plain `def` route takes `SessionDep`, and FastAPI
runs it in its thread pool. Only what awaits the writer (a submission, /healthz) is `async`.

Everything here comes from `app.state`, set once by `create_app`; routes never reach into
`app.state` themselves. The getters are `async def` on purpose: FastAPI runs a plain `def`
dependency in the thread pool, a hop that cost more than the lookup on every request.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.analytics.aggregates import BenchmarkCache
from app.cache import Caches
from app.config import Settings
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
