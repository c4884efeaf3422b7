"""`GET /healthz`: does the database take a write, the way a submission is written?

Docker's HEALTHCHECK and load balancers read it. A `SELECT 1` answered while the database took
no write (SQLite's write lock held by another process, PostgreSQL read-only after a failover,
a full disk), so /healthz said 200 for 23 seconds in which every submission failed. Now it
upserts the one row of `health_checks` and commits, through the same writer as submissions (on
SQLite, the group-commit thread: it waits its turn behind them and takes no lock of its own),
and gives up after HEALTH_TIMEOUT_SECONDS, inside the HEALTHCHECK's three.
"""

import asyncio
import logging
import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlmodel import Session

from app.db import dialect_insert, error_summary
from app.deps import WriterDep
from app.errors import RETRY_AFTER_SECONDS, json_error
from app.http.openapi import statuses
from app.models import HealthCheck

log = logging.getLogger("app")
router = APIRouter(tags=["health"])
HEALTH_TIMEOUT_SECONDS = 2.0
TABLE = HealthCheck.__table__  # type: ignore[attr-defined]  # SQLModel adds it


def touch(session: Session) -> None:
    insert = dialect_insert(session.get_bind().dialect.name)(TABLE)
    statement = insert.values(id=1, checked_at=time.time())
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={"checked_at": statement.excluded.checked_at}
        )
    )


@router.get("/healthz", responses=statuses(503))
async def read_health(writer: WriterDep) -> JSONResponse:
    """`{"status": "ok"}` when the database takes a write, 503 otherwise."""
    try:
        await asyncio.wait_for(writer.write(touch), timeout=HEALTH_TIMEOUT_SECONDS)
    except Exception as exc:  # any error or the timeout: not healthy, whatever the cause
        why = "no write within the time" if isinstance(exc, TimeoutError) else error_summary(exc)
        log.warning("health check failed: %s", why)
        return json_error(
            503,
            "unavailable",
            "The database does not take writes right now.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return JSONResponse({"status": "ok"})
