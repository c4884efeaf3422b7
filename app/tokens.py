"""Tokens the server puts in its own forms and checks when they come back.

Both are signed (HMAC-SHA256) with one secret per deployment, kept in the database: the first
app process to start makes it, every other reads it (`load_secret`), so a page rendered by one
process is checked by any other, on SQLite or PostgreSQL, with nothing to configure.

- **Form tokens** (`form_token`, on every quiz form): 128 random bits and their signature. A
  form's token is its idempotency key (a resent form is stored once; an edit after Back is
  stored as a new response linked to the first, app/web/pages.py). Whoever holds a token can
  reach the response stored under it, so a client must not be able to pick one: a token the
  server did not sign is treated as no token (the form is stored, once per post, linked to
  nothing). Treated as none rather than refused because a missing token is already accepted
  (it only protects against double clicks), so refusing a forged one would protect nothing and
  would cost a visitor whose page predates this its answers' first send.
- **Embed tokens** (`embed_token`, on a partner's embed page): the partner's slug and the time
  the page was rendered, signed. Only a form that carries one, for that partner and at most a
  day old, is attributed to the partner (app/web/pages.py); anyone could claim a partner
  before. It proves the form came from the partner's embed page recently, not who filled it in:
  hence attribution "widget", not "api_key", and the partner's own rate limit on top of the
  address's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from sqlalchemy import select
from sqlalchemy.engine import Connection

from app.db import dialect_insert
from app.models import ServerSecret, utcnow

SECRET_NAME = "form-tokens"
# A quiz takes about ten minutes; a tab left open overnight still sends (a day), and a stale
# one is asked to send again with a fresh token, its answers kept.
EMBED_TOKEN_SECONDS = 24 * 3600
# Tokens issued by another app process whose clock runs a little ahead are still good.
CLOCK_SKEW_SECONDS = 300
SIGNATURE_BYTES = 16  # 128 bits: HMAC-SHA256 cut, as RFC 2104 allows


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Tokens:
    def __init__(self, secret: bytes):
        self._secret = secret

    def _signature(self, kind: str, *parts: str) -> bytes:
        # NUL-separated: no part (a slug, digits, base64url) contains one, so no two different
        # lists of parts sign the same message.
        message = "\x00".join((kind, *parts)).encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return _b64(digest[:SIGNATURE_BYTES]).encode()

    def _signed(self, given: str, kind: str, *parts: str) -> bool:
        # Compared as bytes: compare_digest refuses str with non-ASCII characters, which a
        # client may send.
        return hmac.compare_digest(given.encode(), self._signature(kind, *parts))

    def form(self) -> str:
        """A new form token: `random.signature`."""
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._signature('form', nonce).decode()}"

    def issued_form(self, token: str | None) -> str | None:
        """`token` if this server issued it, else None."""
        nonce, dot, signature = (token or "").partition(".")
        if not (dot and nonce) or not self._signed(signature, "form", nonce):
            return None
        return token

    def embed(self, slug: str, now: float | None = None) -> str:
        """A token for a form on `slug`'s embed page: `issued-at.signature`."""
        issued = str(int(time.time() if now is None else now))
        return f"{issued}.{self._signature('embed', slug, issued).decode()}"

    def embed_ok(self, token: str | None, slug: str, now: float | None = None) -> bool:
        """Whether `token` was issued for `slug`'s embed page within the last day."""
        issued, dot, signature = (token or "").partition(".")
        if not dot or not (issued.isascii() and issued.isdigit()) or len(issued) > 12:
            return False
        age = (time.time() if now is None else now) - int(issued)
        if not -CLOCK_SKEW_SECONDS <= age <= EMBED_TOKEN_SECONDS:
            return False
        return self._signed(signature, "embed", slug, issued)


def load_secret(connection: Connection) -> bytes:
    """The deployment's signing secret: written by the first process to start (processes
    starting at once both try; the database keeps one), read by every other."""
    table = ServerSecret.__table__  # type: ignore[attr-defined]  # SQLModel adds it
    insert = dialect_insert(connection.dialect.name)(table)
    connection.execute(
        insert.values(
            name=SECRET_NAME, value=secrets.token_hex(32), created_at=utcnow()
        ).on_conflict_do_nothing(index_elements=["name"])
    )
    value = connection.execute(select(table.c.value).where(table.c.name == SECRET_NAME))
    return bytes.fromhex(value.scalar_one())
