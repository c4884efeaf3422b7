"""The one path from a submission to a stored, scored response, and reading one back.

Both the JSON API (`POST /api/v1/responses`) and the HTML form call `submit`. Everything a
submission writes goes through the writer in one transaction (app/responses/writer.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.requests import Request

from app.analytics.aggregates import defer_rollup, rollup_rows
from app.config import Settings
from app.errors import (
    AppError,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    NotFound,
)
from app.models import (
    Attribution,
    IdempotencyRecord,
    Partner,
    ResponseRecord,
    WebhookDelivery,
    utcnow,
)
from app.partners.ratelimit import Admission
from app.partners.webhooks import delivery_for, event_body
from app.responses.results import Results, StoredResult
from app.responses.writer import Writer, defer_insert, write_deferred
from app.teams.service import closed_in_write, team_for_join
from scoring import AnswerEvidence, Submission, SubmissionInvalid

RESPONSE_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True)
class Submitted:
    id: str
    # The result, with at least the `top` recommendations `submit` was asked for (all of them
    # when replayed); callers cut it to their `top`.
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


# Where an idempotency key comes from: an API client's `Idempotency-Key` header, or a form's
# token (issued and signed by the server, app/tokens.py).
KeyKind = Literal["api", "form"]


def _key_hash(key: str, kind: KeyKind, partner: str | None, request_hash: str) -> str:
    """The stored name of a key, scoped to who may use it, so that nobody can name a key of
    someone else's and be answered with their response:

    - an API key's partner: its keys are its own (the same hash as before scopes existed, so a
      retry sent across the upgrade still replays);
    - a form: its token's own kind; only the server issues tokens and only the visitor holds
      one, so it needs no further scope;
    - an API client without a key: the key together with the body. The same key and body
      replay (the retry case); another body is simply another key, never a 409 saying the key
      is taken, nor the id of whatever was stored under it. Whoever sends the very same key and
      body is answered with the first response: it holds no answer the caller did not send.

    Each input begins differently (a slug's letter or digit, or NUL and a kind), so no two
    scopes share a hash."""
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidIdempotencyKey(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters.",
            [{"field": "Idempotency-Key", "code": "invalid", "message": "invalid header value"}],
        )
    if kind == "form":
        return _sha256(f"\x00form\x00{key}")
    if partner is not None:
        return _sha256(f"{partner}\x00{key}")
    return _sha256(f"\x00anonymous\x00{request_hash}\x00{key}")


@dataclass(frozen=True)
class _Key:
    key_hash: str
    request_hash: str


async def submit(
    *,
    engine: Engine,
    results: Results,
    writer: Writer,
    submission: Submission,
    idempotency_key: str | None = None,
    key_kind: KeyKind = "api",
    admit: Admission | None = None,
    partner: Partner | None = None,
    attribution: Attribution | None = None,
    ref: str | None = None,
    base_url: str = "",
    top: int | None = None,
) -> Submitted:
    """Score a submission and store it. With an idempotency key, a retry (same key, same body)
    returns the first stored response and stores nothing new, even when the retries race each
    other; the key is scoped by `key_kind` and `partner` (`_key_hash`). Raises
    `SubmissionInvalid` before anything is stored. `partner` is the partner the caller
    established (an API key, a signed embed token), and `attribution` says which of the two;
    `ref` is that partner's tag for the widget it came from (validated by the caller).

    `admit` (a rate limit) counts the submission in the transaction that stores it, after the
    replay check, so an idempotent retry of a stored submission is answered even when limited,
    and on SQLite every write of a submission goes through the one writer. With a `partner`
    that has a webhook, the delivery is written in the same transaction as the response, with
    links on `base_url`. The rows are written by `writer` (app/responses/writer.py).

    `top`: how many recommendations the caller answers with. Only those are worded (the API's
    default of 3 of 11 saves a fifth of scoring's CPU), and the result is kept for later
    readers (`Results.remember`, serialised: another 60 µs) only when it is whole (`top=None`,
    as for the form, whose result page is read next); the first reader of a response answered
    with part of its result explains it from its row, as after a restart.

    Runs on the event loop: scoring is short CPU work done in place, and everything read or
    written after it (the replay check, the team and `based_on`, the rate limit, the rows) is
    one piece of work awaited from the writer, so no thread waits for a commit. `engine` is
    kept for callers; the writer holds its own."""
    key = None
    if idempotency_key is not None:
        request_hash = _request_hash(submission)
        slug = partner.slug if partner is not None else None
        key = _Key(_key_hash(idempotency_key, key_kind, slug, request_hash), request_hash)
    try:
        computed, answered = results.scorer.compute_and_explain(submission, top)
    except SubmissionInvalid:
        # A retry is answered with what was stored even when its body would not pass now (the
        # quiz has a new version).
        replay = await _replay_after_failure(writer, results, key)
        if replay is not None:
            return replay
        raise
    # The row as plain values: built without a model's validation (everything in it was
    # validated as the submission or computed by scoring), written with a Core INSERT.
    row: dict[str, Any] = {
        "id": new_response_id(),
        "created_at": utcnow(),
        "quiz_version": computed.quiz_version,
        "scoring_version": computed.scoring_version,
        "state": submission.context.state,
        "role": submission.context.role,
        "partner": submission.partner,
        "answers": stored_answers(submission),
        "result": results.lean(computed),
        "content_hash": results.content_hash,
        "based_on": submission.based_on,
        "team_id": None,
        "attribution": attribution if submission.partner is not None else None,
        "ref": ref if submission.partner is not None else None,
    }
    webhook = _webhook(partner, row, answered, base_url)

    def store(write: Session) -> Submitted | AppError:
        # What is refused is returned, not raised: the rest of the batch goes on as is.
        if key is not None:
            # Checked where it is written, so a retry racing the first is caught here, and a
            # retry is answered even when its team has closed since.
            replay = _replay_or_refusal(write, results, key)
            if replay is not None:
                return replay
        if submission.team or submission.based_on:
            linked = _linked(write, submission)
            if isinstance(linked, AppError):
                return linked
            row["team_id"] = linked
        if row["team_id"] is not None:
            # Ordered with the close here, in the write (app/teams/service.py, `closed_in_write`).
            closed = closed_in_write(write, row["team_id"])
            if closed is not None:
                return closed
        if admit is not None:
            refused = admit(write)
            if refused is not None:
                return refused
        _add_rows(write, row, answered, key, webhook)
        return Submitted(id=row["id"], result=answered, replayed=False, webhook=webhook is not None)

    try:
        outcome = await writer.write(store)
    except IntegrityError:
        # Another process stored the same key first: answer with its response.
        replay = await _replay_after_failure(writer, results, key)
        if replay is None:
            raise
        return replay
    if isinstance(outcome, AppError):
        raise outcome
    if not outcome.replayed and len(answered["recommendations"]) == len(results.scorer.conditions):
        results.remember(outcome.id, answered)
    return outcome


def stored_answers(submission: Submission) -> list[dict[str, Any]]:
    """The answers as a row keeps them: evidence only where a note or a link was given, so a
    response without any is stored exactly as before evidence existed."""
    rows: list[dict[str, Any]] = []
    for answer in submission.answers:
        row: dict[str, Any] = {"question_id": answer.question_id, "option_id": answer.option_id}
        given = answer_evidence(answer.evidence)
        if given:
            row["evidence"] = given
        rows.append(row)
    return rows


def answer_evidence(evidence: AnswerEvidence | None) -> dict[str, str]:
    """A note and a link as stored: empty ones left out."""
    if evidence is None:
        return {}
    return {k: v for k, v in (("note", evidence.note), ("link", evidence.link)) if v}


def evidence_of(record: ResponseRecord) -> list[dict[str, str]]:
    """The evidence a stored response carries, one entry per answer that has any."""
    return [
        {"question_id": a["question_id"], **a["evidence"]}
        for a in record.answers
        if a.get("evidence")
    ]


def _linked(session: Session, submission: Submission) -> str | AppError | None:
    """Inside the write: the id of the open team the submission joins, after checking the
    response it is `based_on` exists; or why not."""
    try:
        team_id = team_for_join(session, submission.team).id if submission.team else None
    except AppError as refused:
        return refused
    if submission.based_on is not None and session.get(ResponseRecord, submission.based_on) is None:
        return NotFound(
            "based_on names no stored response.",
            [{"field": "based_on", "code": "unknown_response", "message": "no such response"}],
        )
    return team_id


async def _replay_after_failure(
    writer: Writer, results: Results, key: _Key | None
) -> Submitted | None:
    """After a submission failed (invalid now, or its key stored by another process first):
    what its key stored, read through the writer like everything else a submission touches."""
    if key is None:
        return None
    found = await writer.write(partial(_replay_or_refusal, results=results, key=key))
    if isinstance(found, AppError):
        raise found
    return found


def _replay_or_refusal(
    session: Session, results: Results, key: _Key
) -> Submitted | IdempotencyKeyReused | None:
    try:
        return _replay(session, results, key)
    except IdempotencyKeyReused as reused:
        return reused


def _replay(session: Session, results: Results, key: _Key) -> Submitted | None:
    """The response first stored under this key, or None for a new key."""
    existing = session.get(IdempotencyRecord, key.key_hash)
    if existing is None:
        return None
    if existing.request_hash != key.request_hash:
        reused = IdempotencyKeyReused(
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
        reused.response_id = existing.response_id
        raise reused
    record = read_response(session=session, response_id=existing.response_id)
    return Submitted(id=record.id, result=results.full(session, record), replayed=True)


RESPONSES = ResponseRecord.__table__  # type: ignore[attr-defined]  # SQLModel adds it


def _add_rows(
    session: Session,
    row: dict[str, Any],
    answered: StoredResult,
    key: _Key | None,
    webhook: WebhookDelivery | None,
) -> None:
    # A Core INSERT, not the ORM's unit of work or bulk path (a third of the cost), made with
    # the batch's other rows.
    defer_insert(session, RESPONSES, row)
    # Counted in the same transaction: pending until its cell's batch is complete, then
    # released with it (app/analytics/aggregates.py).
    defer_rollup(
        session,
        rollup_rows(
            created_at=row["created_at"],
            state=row["state"],
            role=row["role"],
            partner=row["partner"],
            quiz_version=row["quiz_version"],
            result=answered,
            attribution=row["attribution"],
            ref=row["ref"],
        ),
    )
    if key is None and webhook is None:
        return
    write_deferred(session)  # the key and the delivery point at the response row
    if key is not None:
        session.add(
            IdempotencyRecord(
                key_hash=key.key_hash,
                request_hash=key.request_hash,
                response_id=row["id"],
                created_at=row["created_at"],
            )
        )
    if webhook is not None:
        session.add(webhook)
    session.flush()  # a clash of keys surfaces here, inside this submission's savepoint


def _webhook(
    partner: Partner | None, row: dict[str, Any], answered: StoredResult, base_url: str
) -> WebhookDelivery | None:
    if partner is None or not partner.webhook_url:
        return None
    body = event_body(
        response_id=row["id"],
        created_at=row["created_at"],
        result=answered,
        result_url=result_url(base_url, row["id"]),
        attribution=row["attribution"],
        ref=row["ref"],
    )
    return delivery_for(partner, row["id"], body)


def read_response(*, session: Session, response_id: str) -> ResponseRecord:
    if not RESPONSE_ID.match(response_id):
        raise NotFound("No response with that id.")
    record = session.get(ResponseRecord, response_id)
    if record is None:
        raise NotFound("No response with that id.")
    return record


def result_url(base_url: str, response_id: str) -> str:
    """The shareable page of a response, on the base `public_base` chose."""
    return f"{base_url.rstrip('/')}/results/{response_id}"


PLAIN_HOST = re.compile(r"[A-Za-z0-9.-]+(?::([0-9]{1,5}))?")


def public_base(request: Request, settings: Settings) -> str:
    """Where our links point: PUBLIC_BASE_URL; else the address the request came to, if its
    host is one of ALLOWED_HOSTS; else nothing (relative links). Never a Host header we do not
    know, or a forged one would make the links we hand out point to another site."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    host = request.headers.get("host", "")
    plain = PLAIN_HOST.fullmatch(host)
    if plain and int(plain[1] or 0) <= 65535:
        # The usual Host header, a name or IPv4 address and a port: what Starlette's
        # `request.url` and `base_url` would make of it, without building and parsing both
        # URLs on every submission.
        if host.partition(":")[0].lower() not in settings.hosts:
            return ""
        root = request.scope.get("app_root_path", request.scope.get("root_path", ""))
        return f"{request.scope.get('scheme', 'http')}://{host}{root}".rstrip("/")
    if (request.url.hostname or "").lower() in settings.hosts:
        return str(request.base_url).rstrip("/")
    return ""
