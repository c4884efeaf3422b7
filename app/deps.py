"""Dependencies shared by the API and the pages: the database session, content and settings.

Everything here comes from `app.state`, set once by `create_app`; routes never reach into
`app.state` themselves.
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.aggregates import BenchmarkCache
from app.config import Settings
from app.ratelimit import RateLimiter
from app.webhooks import WebhookSender
from quiz import Framework, Quiz
from scoring import Scorer


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def get_scorer(request: Request) -> Scorer:
    scorer: Scorer = request.app.state.scorer
    return scorer


def get_framework(scorer: Annotated[Scorer, Depends(get_scorer)]) -> Framework:
    return scorer.framework


def get_quiz(scorer: Annotated[Scorer, Depends(get_scorer)]) -> Quiz:
    return scorer.quiz


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def get_webhooks(request: Request) -> WebhookSender:
    sender: WebhookSender = request.app.state.webhooks
    return sender


def get_benchmarks(request: Request) -> BenchmarkCache:
    cache: BenchmarkCache = request.app.state.benchmarks
    return cache


def client_address(request: Request) -> str:
    """The client's address: the socket peer, or what a trusted proxy says (TRUSTED_PROXIES,
    applied by uvicorn's ProxyHeadersMiddleware in create_app)."""
    return request.client.host if request.client else "unknown"


EngineDep = Annotated[Engine, Depends(get_engine)]
BenchmarksDep = Annotated[BenchmarkCache, Depends(get_benchmarks)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
WebhooksDep = Annotated[WebhookSender, Depends(get_webhooks)]
SessionDep = Annotated[Session, Depends(get_session)]
ScorerDep = Annotated[Scorer, Depends(get_scorer)]
FrameworkDep = Annotated[Framework, Depends(get_framework)]
QuizDep = Annotated[Quiz, Depends(get_quiz)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
