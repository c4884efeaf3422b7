"""The JSON API: every resource router under one `/api/v1` prefix, and health at the root."""

from fastapi import APIRouter

from app.api.routes import content, drafts, embed, export, health, plans, responses, score, teams

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(content.router)
api_router.include_router(score.router)
api_router.include_router(responses.router)
api_router.include_router(export.router)
api_router.include_router(teams.router)
api_router.include_router(drafts.router)
api_router.include_router(plans.router)

root_router = APIRouter()
root_router.include_router(health.router)
root_router.include_router(embed.router)
