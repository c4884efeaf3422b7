"""The JSON API: every resource router under one `/api/v1` prefix, and health and the embed
script at the root (app/http/mounts.py says why they are mounted one by one)."""

from app.api.routes import content, drafts, embed, export, health, plans, responses, score, teams
from app.http.mounts import Mount

API_PREFIX = "/api/v1"
api_mounts = (
    Mount("", health.router),
    Mount("", embed.router),
    *(
        Mount(API_PREFIX, router.router)
        for router in (content, score, responses, export, teams, drafts, plans)
    ),
)
