"""The analysts' secret: guesses of EXPORT_TOKEN throttled per address, and sessions that end.

EXPORT_TOKEN opens two doors, the export API's bearer token and the `/insights` sign-in, so
both share one count of failures per client address: `TOKEN_FAILURES_PER_WINDOW` wrong tokens
(default 10) in `TOKEN_FAILURE_WINDOW_SECONDS` (default 15 minutes), then 429 with Retry-After
until the oldest of them leaves the window. Only wrong tokens count. While an address is over
the limit even the right token is refused without being compared: were it let through, a 200
among the 429s would tell a guesser which guess was right, and the limit would limit nothing.

The count is kept in the database (`token_failures`), so it holds across every app process:
on PostgreSQL under a transaction-scoped advisory lock per address, on SQLite under the
database's write lock, which the attempt takes (by writing) before it counts. An address is
stored only as an HMAC keyed with EXPORT_TOKEN, which no one can reverse by hashing every
address without the token; rows are deleted once out of the window, at the next attempt.
(app/partners/ratelimit.py's limiter is not reused: its window is a fixed minute and it counts every
admitted request, where this counts failures only, over a longer window.)

A session is a random id in a cookie signed with EXPORT_TOKEN, and a row (`analyst_sessions`,
the id's sha256) that logout marks revoked: a copied cookie stops working when its session
ends. Changing EXPORT_TOKEN changes the signing key, so it ends every session at once.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from datetime import timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.config import Settings
from app.errors import RateLimited
from app.models import AnalystSession, TokenFailure, as_utc, utcnow

SESSION_SECONDS = 8 * 3600


def _sign(token: str, message: str) -> str:
    return hmac.new(token.encode(), message.encode(), hashlib.sha256).hexdigest()


def _client(address: str) -> str:
    """What one client is: an IPv4 address, or an IPv6 address's /64 (a host is usually given
    a whole /64, so counting single IPv6 addresses would give it billions of budgets)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an address (an in-process test client): counted as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def _span(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


def _wait(seconds: int) -> str:
    return f"{seconds} seconds" if seconds < 120 else f"about {math.ceil(seconds / 60)} minutes"


def token_is_right(engine: Engine, settings: Settings, address: str, given: str) -> bool:
    """Whether `given` is EXPORT_TOKEN (compared in constant time), for a client at `address`.
    A wrong token is counted; over the limit, `RateLimited` is raised and nothing is compared
    or counted. Call only with a token configured and something given."""
    token = settings.export_token
    assert token, "export is off: no token to check against"
    limit, window = settings.token_failures_per_window, settings.token_failure_window_seconds
    bucket = _sign(token, f"token-failures.{_client(address)}")
    now = time.time()
    since = now - window
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"token-failures:{bucket}"},
            )
        if _may_prune(session, engine):
            session.execute(delete(TokenFailure).where(col(TokenFailure.at) <= since))
        # Written before counting, as if it were a failure: on SQLite the write takes the
        # database's write lock, so no other process counts between this count and this write.
        attempt = TokenFailure(bucket=bucket, at=now)
        session.add(attempt)
        session.flush()
        used, oldest = session.execute(
            select(func.count(), func.min(col(TokenFailure.at))).where(
                col(TokenFailure.bucket) == bucket, col(TokenFailure.at) > since
            )
        ).one()
        if used > limit:
            session.delete(attempt)
            session.commit()
            retry_after = max(1, math.ceil(oldest + window - now))
            raise RateLimited(
                f"Too many wrong tokens from your address: at most {limit} in "
                f"{_span(window)}. Try again in {_wait(retry_after)}.",
                retry_after,
            )
        right = hmac.compare_digest(given.encode(), token.encode())
        if right:
            session.delete(attempt)  # only failures count
        session.commit()
        return right


def _may_prune(session: Session, engine: Engine) -> bool:
    """One attempt at a time deletes what left the window: on PostgreSQL two attempts deleting
    the same rows in a different order could deadlock, so the others skip it (SQLite runs one
    writer at a time anyway)."""
    if engine.dialect.name != "postgresql":
        return True
    taken = session.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('token-prune'))"))
    return bool(taken.scalar())


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(session: Session, settings: Settings) -> str:
    """A new session for a signed-in analyst: its cookie value. Sessions whose time is up are
    deleted here, so the table holds at most the last eight hours of sign-ins."""
    assert settings.export_token
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(AnalystSession).where(col(AnalystSession.expires_at) < now))
    session.add(
        AnalystSession(
            id_hash=_id_hash(session_id),
            issued_at=now,
            expires_at=now + timedelta(seconds=SESSION_SECONDS),
        )
    )
    session.commit()
    return f"{session_id}.{_sign(settings.export_token, f'analyst-session.{session_id}')}"


def _session_id(settings: Settings, value: str | None) -> str | None:
    """The id in a cookie signed with today's EXPORT_TOKEN, else None."""
    if not settings.export_token or not value:
        return None
    session_id, dot, signature = value.partition(".")
    expected = _sign(settings.export_token, f"analyst-session.{session_id}")
    if not dot or not hmac.compare_digest(signature, expected):
        return None
    return session_id


def session_is_live(session: Session, settings: Settings, value: str | None) -> bool:
    """The cookie is signed with today's token and its session is neither ended nor over."""
    session_id = _session_id(settings, value)
    if session_id is None:
        return False
    row = session.get(AnalystSession, _id_hash(session_id))
    return row is not None and row.revoked_at is None and as_utc(row.expires_at) > utcnow()


def end_session(session: Session, settings: Settings, value: str | None) -> None:
    """Logout: the session ends here, for every copy of its cookie."""
    session_id = _session_id(settings, value)
    if session_id is None:
        return
    session.execute(
        update(AnalystSession)
        .where(
            col(AnalystSession.id_hash) == _id_hash(session_id),
            col(AnalystSession.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    session.commit()
