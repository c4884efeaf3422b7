"""Create the FastAPI app: content, database, routers, error handlers. Nothing else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.api.routes import content, health, scoring
from app.config import Settings, get_settings
from app.db import make_engine, migrate
from app.errors import install_error_handlers
from app.limits import BodySizeLimit
from app.security import SecurityHeaders
from app.web import pages
from quiz import get_framework, get_quiz

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Content is validated here, before the server accepts a request: a broken file stops start-up.
    framework = get_framework()
    quiz = get_quiz()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        if settings.migrate_on_startup:
            migrate(engine, settings.database_url)
        app.state.engine = engine
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="Where should your state begin?",
        version=quiz.version,
        summary="A quiz on KnowledgeWorks' State Policy Framework for Personalized Learning.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.framework = framework
    app.state.quiz = quiz
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(content.router)
    app.include_router(scoring.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app()
