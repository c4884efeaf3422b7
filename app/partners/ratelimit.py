"""Rate limits shared by every app process: a sliding one-minute window counted in the database.

Each admitted request adds a row; a request is refused when its bucket already holds `limit`
rows from the last minute. On PostgreSQL a transaction-scoped advisory lock per bucket makes the
count exact across processes; SQLite serialises writers by itself.

What is kept is only what the window needs (docs/privacy.md): a bucket (`ip:<address>`,
`key:<partner id>`) is stored as its HMAC-SHA256 under the deployment's rate-limit key, never
as written, and every transaction that counts first deletes every row older than the window,
whoever's it is.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import time
from collections.abc import Callable

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.errors import RateLimited
from app.models import RateLimitHit

HITS = RateLimitHit.__table__  # type: ignore[attr-defined]  # SQLModel adds it
WINDOW_SECONDS = 60.0
# A bucket's count and oldest row in the window, built once: every submission runs it.
IN_WINDOW = select(func.count(), func.min(HITS.c.at)).where(
    HITS.c.bucket == bindparam("bucket"), HITS.c.at > bindparam("since")
)
# The rows that aged out of the window, for the sweep (`_sweep`).
AGED = delete(HITS).where(
    HITS.c.id.in_(
        select(HITS.c.id)
        .where(HITS.c.at <= bindparam("since"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
)


# Counts one request in the transaction of the session it is given; returns the refusal, if any.
Admission = Callable[[Session], RateLimited | None]


def bucket_key(key: bytes, bucket: str) -> str:
    """What the database holds for `bucket`: the same in every process that shares `key` (so
    limits hold across processes), and no address can be read back from it without the key."""
    return hmac.new(key, bucket.encode(), hashlib.sha256).hexdigest()


class RateLimiter:
    def __init__(self, engine: Engine, key: bytes):
        self.engine = engine
        self.key = key
        self.postgres = engine.dialect.name == "postgresql"

    def admission(self, bucket: str, limit: int) -> Admission | None:
        """What counts one request in `bucket` inside a transaction of the caller's (a
        submission's own write, so that SQLite sees one writer), or None when the limit is off."""
        return None if limit <= 0 else functools.partial(self.count, bucket=bucket, limit=limit)

    def hit(self, bucket: str, limit: int) -> None:
        """Count one request in `bucket` in a transaction of its own, or raise `RateLimited`
        (the refused one is not counted). A limit of 0 turns the limit off."""
        if limit <= 0:
            return
        with Session(self.engine) as session:
            refused = self.count(session, bucket=bucket, limit=limit)
            session.commit()  # the old rows' deletion, even for a refusal
            if refused is not None:
                raise refused

    def count(self, session: Session, *, bucket: str, limit: int) -> RateLimited | None:
        """Count one request in `bucket` within `session`'s transaction, or return the refusal
        and count nothing."""
        now = time.time()
        since = now - WINDOW_SECONDS
        hashed = bucket_key(self.key, bucket)
        if self.postgres:
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:bucket))"), {"bucket": hashed}
            )
        if not session.info.get(SWEPT):
            _sweep(session, since)
        used, oldest = session.execute(IN_WINDOW, {"bucket": hashed, "since": since}).one()
        if used >= limit:
            retry_after = max(1, math.ceil(oldest + WINDOW_SECONDS - now))
            return RateLimited(
                f"Too many submissions: at most {limit} a minute. Try again in "
                f"{retry_after} seconds.",
                retry_after,
            )
        session.execute(HITS.insert(), {"bucket": hashed, "at": now})
        return None


# Set on a session whose transaction has swept the old rows: a batch of submissions
# (app/responses/writer.py) is one transaction, and one sweep serves all of its counts.
SWEPT = "rate_limits_swept"


def _sweep(session: Session, since: float) -> None:
    """Nothing outlives the window: every transaction that counts first deletes every
    bucket's old rows (ix_rate_limit_hits_at finds the few that just aged out, usually none),
    once; a sweep per count was a third of the rate limits' cost in a batch (a sweep rolled
    back with a failing job's savepoint is left to the next transaction). Rows another
    transaction is deleting are skipped, not waited for: two submissions of different clients
    never queue, or deadlock, on the same old row (PostgreSQL; SQLite has one writer and
    renders no FOR UPDATE)."""
    session.execute(AGED, {"since": since})
    session.info[SWEPT] = True


def all_of(*admissions: Admission | None) -> Admission | None:
    """One admission counting a request in several buckets (a widget's submission: its
    address's and its partner's), or in none when any refuses: the counts are taken in a
    savepoint, so a refusal by the second leaves the first uncounted too (only a submission
    that is stored counts)."""
    given = [a for a in admissions if a is not None]
    if len(given) <= 1:
        return given[0] if given else None

    def admit(session: Session) -> RateLimited | None:
        savepoint = session.begin_nested()
        for admission in given:
            refused = admission(session)
            if refused is not None:
                savepoint.rollback()
                return refused
        savepoint.commit()
        return None

    return admit
