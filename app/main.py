"""The app factory: content, scoring tables, database, routers, error handlers.

`create_app()` builds an app and changes nothing else in the process; what uvicorn serves, with
the process tuned for serving, is `app/asgi.py`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.analytics.aggregates import BenchmarkCache
from app.api.router import api_mounts
from app.api.routes.content import ContentJson
from app.cache import Caches
from app.config import Settings, get_settings
from app.db import check_schema, make_engine
from app.deps import storable_text
from app.errors import install_error_handlers
from app.http.kept import KeptAnswers
from app.http.middleware import (
    AccessLog,
    Cors,
    Draining,
    HeadAsGet,
    RequestLimits,
    SecurityHeaders,
)
from app.http.mounts import Mount, declared
from app.http.openapi import install_openapi
from app.partners.ratelimit import RateLimiter
from app.partners.registry import OriginCache
from app.partners.webhooks import WebhookSender
from app.responses.results import Results, register_content
from app.responses.writer import make_writer
from app.server import Drain
from app.tokens import Tokens, load_secret
from app.web import drafts, insights, pages, partner_embed, plans, teams
from quiz import load_content
from scoring import Scorer

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Every router, in the order routing tries them: the JSON API's, then the pages'.
MOUNTS: tuple[Mount, ...] = (
    *api_mounts,
    *(Mount("", face.router) for face in (pages, insights, teams, drafts, plans, partner_embed)),
)


def create_app(settings: Settings | None = None, mounts: tuple[Mount, ...] = MOUNTS) -> FastAPI:
    """The app, serving `mounts` (a test adds its own routes there)."""
    settings = settings or get_settings()
    # Content is validated here, before the server accepts a request: a broken file stops
    # start-up. The scoring tables are built once and shared by every request.
    scorer = Scorer(*load_content(settings.quiz_data_dir))
    drain = Drain(settings.shutdown_drain_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # uvicorn's access log names client addresses and result ids; ours does not (AccessLog).
        logging.getLogger("uvicorn.access").disabled = True
        engine = make_engine(settings.database_url)
        # Migrations run once, before the app starts (`python -m app.cli migrate`); a worker
        # only checks that it was done, so many workers never race to change the schema.
        check_schema(engine)
        with engine.begin() as connection:
            register_content(connection, app.state.results)
            app.state.tokens = Tokens(load_secret(connection))
        app.state.engine = engine
        # Aggregates publish responses in batches of MIN_GROUP_SIZE (app/analytics/aggregates.py).
        app.state.writer = make_writer(settings.database_url, release_at=settings.min_group_size)
        app.state.writer.start()
        app.state.limiter = RateLimiter(engine, settings.rate_limit_key)
        app.state.origins = OriginCache(engine, settings.origins, app.state.caches)
        app.state.webhooks = WebhookSender(engine, settings)
        app.state.webhooks.start()
        drain.install()  # SIGTERM: new requests get a 503 for a moment, then uvicorn stops
        try:
            yield
        finally:
            drain.uninstall()
            app.state.writer.stop()  # what is queued is written first
            app.state.webhooks.stop()
            engine.dispose()

    app = FastAPI(
        title="Where should your state begin?",
        version=scorer.quiz.version,
        summary="A quiz on KnowledgeWorks' State Policy Framework for Personalized Learning.",
        lifespan=lifespan,
        docs_url="/docs" if settings.api_docs else None,
        redoc_url="/redoc" if settings.api_docs else None,
        # No route sees a NUL or a lone surrogate (a 500 on PostgreSQL): a 422 first.
        dependencies=[Depends(storable_text)],
    )
    app.state.settings = settings
    app.state.scorer = scorer
    # Every in-process cache of this app (app/cache.py), made by the code each one serves.
    app.state.caches = caches = Caches()
    app.state.results = Results(scorer, caches)
    app.state.content_json = ContentJson.of(scorer)
    app.state.benchmarks = BenchmarkCache(caches)
    install_error_handlers(app)
    install_openapi(app, scorer)
    for mount in mounts:
        app.include_router(mount.router, prefix=mount.prefix)
    routes = list(declared(mounts))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The last added runs first: security headers go on every answer, even the early 413.
    if settings.answer_kept_before_routing:
        app.add_middleware(KeptAnswers, routes=routes)  # innermost: app/http/kept.py
    app.add_middleware(Cors, origins=lambda: app.state.origins, routes=routes)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(RequestLimits, max_bytes=settings.max_body_bytes)
    app.add_middleware(Draining, drain=drain)
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog, detail=settings.access_log_detail)
    if settings.proxies:
        # uvicorn's own middleware, told which peers to believe; uvicorn itself runs with
        # --no-proxy-headers so that TRUSTED_PROXIES is the only switch.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.proxies)
    return app
