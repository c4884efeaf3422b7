"""The one path from a submission to a stored, scored response, and reading one back.

Both the JSON API (`POST /api/v1/responses`) and the HTML form call `submit`. Commits happen
here and only here.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.aggregates import add_to_rollup, rollup_rows
from app.errors import IdempotencyKeyReused, InvalidIdempotencyKey, NotFound
from app.models import (
    IdempotencyRecord,
    Partner,
    ResponseRecord,
    ResponseStage,
    WebhookDelivery,
    utcnow,
)
from app.webhooks import delivery_for, event_body
from scoring import Result, Scorer, Submission

RESPONSE_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
MAX_IDEMPOTENCY_KEY = 255
# What to do when an idempotency key comes back with a different body: an API client made a
# mistake ("conflict", 409); a visitor went back and changed answers ("new" response).
OnKeyReuse = Literal["conflict", "new"]


# A result as stored: the JSON of the `Result` it was scored as, never re-scored or re-validated,
# so results stored under an older quiz or scoring version are served exactly as they were.
StoredResult = dict[str, Any]


@dataclass(frozen=True)
class Submitted:
    id: str
    # Every recommendation, as stored; callers cut it to the `top` they were asked for.
    result: StoredResult
    replayed: bool
    # A webhook delivery was stored with it: wake the sender.
    webhook: bool = False


def with_top(result: StoredResult, top: int) -> StoredResult:
    """The stored result with only its first `top` recommendations."""
    return {**result, "recommendations": result["recommendations"][:top]}


def new_response_id() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _request_hash(submission: Submission) -> str:
    body = submission.model_dump(mode="json")
    return _sha256(json.dumps(body, sort_keys=True, separators=(",", ":")))


def _key_hash(key: str, partner: str | None) -> str:
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidIdempotencyKey(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters.",
            [{"field": "Idempotency-Key", "code": "invalid", "message": "invalid header value"}],
        )
    return _sha256(f"{partner or ''}\x00{key}")


@dataclass(frozen=True)
class _Key:
    key_hash: str
    request_hash: str


def submit(
    *,
    session: Session,
    scorer: Scorer,
    submission: Submission,
    idempotency_key: str | None = None,
    on_key_reuse: OnKeyReuse = "conflict",
    admit: Callable[[], None] | None = None,
    partner: Partner | None = None,
    base_url: str = "",
) -> Submitted:
    """Score a submission and store it with its full result. With an idempotency key, a retry
    (same key, same body) returns the first stored response and stores nothing new, even when
    the retries race each other. Raises `SubmissionInvalid` before anything is stored.

    `admit` runs after the replay check and before anything new is scored (a rate limit: an
    idempotent retry of a stored submission is answered even when limited). With a `partner`
    that has a webhook, the delivery is written in the same transaction as the response, with
    links on `base_url`."""
    key = None
    if idempotency_key is not None:
        key = _Key(_key_hash(idempotency_key, submission.partner), _request_hash(submission))
        try:
            replay = _replay(session, key)
        except IdempotencyKeyReused:
            if on_key_reuse == "conflict":
                raise
            key = None  # a visitor changed their answers: a new response, without the key
        else:
            if replay is not None:
                return replay
    if admit is not None:
        admit()
    # Stored with every recommendation, so a later reader can ask for any `top`.
    result = scorer.score(submission, top=len(scorer.framework.conditions))
    stored = result.model_dump(mode="json")  # dumped once: stored and answered as is
    response_id = new_response_id()
    now = utcnow()
    _add_rows(session, response_id, now, submission, result, stored, key)
    webhook = _webhook(partner, response_id, now, stored, base_url)
    if webhook is not None:
        session.add(webhook)
    try:
        session.commit()
    except IntegrityError:
        # Another request with the same key committed first: answer with its response.
        session.rollback()
        replay = _replay(session, key) if key else None
        if replay is None:
            raise
        return replay
    return Submitted(id=response_id, result=stored, replayed=False, webhook=webhook is not None)


def _replay(session: Session, key: _Key) -> Submitted | None:
    """The response first stored under this key, or None for a new key."""
    existing = session.get(IdempotencyRecord, key.key_hash)
    if existing is None:
        return None
    if existing.request_hash != key.request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body. "
            "Use a new key for a new submission.",
            [
                {
                    "field": "Idempotency-Key",
                    "code": "reused",
                    "message": "key already used with another body",
                }
            ],
        )
    record = read_response(session=session, response_id=existing.response_id)
    return Submitted(id=record.id, result=record.result, replayed=True)


def _add_rows(
    session: Session,
    response_id: str,
    now: datetime,
    submission: Submission,
    result: Result,
    stored: StoredResult,
    key: _Key | None,
) -> None:
    state, role = submission.context.state, submission.context.role
    session.add(
        ResponseRecord(
            id=response_id,
            created_at=now,
            quiz_version=result.quiz_version,
            scoring_version=result.scoring_version,
            state=state,
            role=role,
            partner=submission.partner,
            answers=[a.model_dump() for a in submission.answers],
            result=stored,
        )
    )
    session.flush()  # the response row must exist before the rows that reference it
    session.add_all(
        ResponseStage(
            response_id=response_id,
            condition=c.slug,
            stage=c.stage,
            confidence=c.confidence,
            created_at=now,
            state=state,
            partner=submission.partner,
        )
        for c in result.conditions
    )
    # Kept in the same transaction, so aggregates are never stale (app/aggregates.py).
    add_to_rollup(
        session,
        rollup_rows(
            created_at=now,
            state=state,
            role=role,
            partner=submission.partner,
            quiz_version=result.quiz_version,
            result=stored,
        ),
    )
    if key is not None:
        session.add(
            IdempotencyRecord(
                key_hash=key.key_hash,
                request_hash=key.request_hash,
                response_id=response_id,
                created_at=now,
            )
        )


def _webhook(
    partner: Partner | None, response_id: str, now: datetime, stored: StoredResult, base_url: str
) -> WebhookDelivery | None:
    if partner is None or not partner.webhook_url:
        return None
    body = event_body(
        response_id=response_id,
        created_at=now,
        result=stored,
        result_url=result_url(base_url, "", response_id),
    )
    return delivery_for(partner, response_id, body)


def read_response(*, session: Session, response_id: str) -> ResponseRecord:
    if not RESPONSE_ID.match(response_id):
        raise NotFound("No response with that id.")
    record = session.get(ResponseRecord, response_id)
    if record is None:
        raise NotFound("No response with that id.")
    return record


def result_url(base_url: str, public_base_url: str, response_id: str) -> str:
    """The shareable page of a response, on PUBLIC_BASE_URL or the host the request came to."""
    base = public_base_url.rstrip("/") or base_url.rstrip("/")
    return f"{base}/results/{response_id}"
