"""Storing and reading responses, with idempotent retries. Commits happen here and only here."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import AppError, NotFound
from app.models import IdempotencyRecord, ResponseRecord, ResponseStage, utcnow
from scoring import Result, Submission

RESPONSE_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
MAX_IDEMPOTENCY_KEY = 255


@dataclass
class Stored:
    record: ResponseRecord
    replayed: bool


def new_response_id() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _request_hash(submission: Submission) -> str:
    return _sha256(
        json.dumps(submission.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    )


def _key_hash(key: str, partner: str | None) -> str:
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise AppError(
            422,
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters.",
            [{"field": "Idempotency-Key", "code": "invalid", "message": "invalid header value"}],
        )
    return _sha256(f"{partner or ''}\x00{key}")


def _replay(session: Session, key_hash: str, request_hash: str) -> Stored | None:
    existing = session.get(IdempotencyRecord, key_hash)
    if existing is None:
        return None
    if existing.request_hash != request_hash:
        raise AppError(
            409,
            "idempotency_key_reused",
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
    record = session.get(ResponseRecord, existing.response_id)
    assert record is not None  # foreign key
    return Stored(record=record, replayed=True)


def store_response(
    *, session: Session, submission: Submission, result: Result, idempotency_key: str | None
) -> Stored:
    """Store a scored submission. With an idempotency key, a retry (same key, same body) returns
    the first stored response and stores nothing new, even when the retries race each other."""
    key_hash = request_hash = None
    if idempotency_key is not None:
        key_hash = _key_hash(idempotency_key, submission.partner)
        request_hash = _request_hash(submission)
        replay = _replay(session, key_hash, request_hash)
        if replay is not None:
            return replay

    now = utcnow()
    record = ResponseRecord(
        id=new_response_id(),
        created_at=now,
        quiz_version=result.quiz_version,
        scoring_version=result.scoring_version,
        state=submission.context.state,
        role=submission.context.role,
        partner=submission.partner,
        answers=[a.model_dump() for a in submission.answers],
        result=result.model_dump(mode="json"),
    )
    session.add(record)
    session.flush()  # the response row must exist before rows that reference it
    session.add_all(
        ResponseStage(
            response_id=record.id,
            condition=c.slug,
            stage=c.stage,
            confidence=c.confidence,
            created_at=now,
            state=record.state,
            partner=record.partner,
        )
        for c in result.conditions
    )
    if key_hash is not None and request_hash is not None:
        session.add(
            IdempotencyRecord(
                key_hash=key_hash, request_hash=request_hash, response_id=record.id, created_at=now
            )
        )
    try:
        session.commit()
    except IntegrityError:
        # Another request with the same key committed first: answer with its response.
        session.rollback()
        if key_hash is None or request_hash is None:
            raise
        replay = _replay(session, key_hash, request_hash)
        if replay is None:
            raise
        return replay
    session.refresh(record)
    return Stored(record=record, replayed=False)


def result_url(request: Request, public_base_url: str, response_id: str) -> str:
    """The shareable page of a response, on PUBLIC_BASE_URL or the host the request came to."""
    base = public_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/results/{response_id}"


def read_response(*, session: Session, response_id: str) -> ResponseRecord:
    if not RESPONSE_ID.match(response_id):
        raise NotFound("No response with that id.")
    record = session.exec(select(ResponseRecord).where(ResponseRecord.id == response_id)).first()
    if record is None:
        raise NotFound("No response with that id.")
    return record
