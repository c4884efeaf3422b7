"""`GET /healthz`: is the database answering?"""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.db import ping
from app.deps import EngineDep
from app.errors import json_error

router = APIRouter(tags=["health"])


@router.get("/healthz")
def read_health(engine: EngineDep) -> JSONResponse:
    """`{"status": "ok"}` when the database answers, 503 otherwise."""
    if ping(engine):
        return JSONResponse({"status": "ok"})
    return json_error(503, "unavailable", "The database does not answer.")
