from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.db import ping
from app.errors import json_error

router = APIRouter(tags=["health"])


@router.get("/healthz")
def read_health(request: Request) -> JSONResponse:
    """`{"status": "ok"}` when the database answers, 503 otherwise."""
    if ping(request.app.state.engine):
        return JSONResponse({"status": "ok"})
    return json_error(503, "unavailable", "The database does not answer.")
